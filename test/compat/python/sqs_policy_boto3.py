"""boto3 (Debian's 1.26, query protocol) seeing SQS authorization: a queue owned by one account,
another account's key refused with AccessDenied until add_permission allows it. Prints one JSON
object.

usage: sqs_policy_boto3.py ENDPOINT_URL OWNER_KEY:SECRET OTHER_KEY:SECRET OWNER_ACCOUNT OTHER_ACCOUNT
"""
import json
import sys

import boto3
from botocore.exceptions import ClientError

ENDPOINT, OWNER_KEY, OTHER_KEY, OWNER_ACCOUNT, OTHER_ACCOUNT = sys.argv[1:6]


def client(key):
    key_id, secret = key.split(":", 1)
    return boto3.client(
        "sqs",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def error_of(call):
    try:
        call()
    except ClientError as error:
        e = error.response["Error"]
        return {
            "code": e.get("Code"),
            "type": e.get("Type"),
            "message": e.get("Message"),
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    return None


owner, other = client(OWNER_KEY), client(OTHER_KEY)
url = owner.create_queue(QueueName="boto3-policy")["QueueUrl"]
out = {}
out["deniedSend"] = error_of(lambda: other.send_message(QueueUrl=url, MessageBody="x"))
out["badPolicy"] = error_of(
    lambda: owner.set_queue_attributes(QueueUrl=url, Attributes={"Policy": '{"Statement": {"Effect": "Maybe"}}'})
)
owner.add_permission(QueueUrl=url, Label="send", AWSAccountIds=[OTHER_ACCOUNT], Actions=["SendMessage"])
out["allowedSend"] = error_of(lambda: other.send_message(QueueUrl=url, MessageBody="allowed"))
out["deniedReceive"] = error_of(lambda: other.receive_message(QueueUrl=url))
got = owner.receive_message(QueueUrl=url).get("Messages", [])
out["received"] = [m["Body"] for m in got]
print(json.dumps(out))
