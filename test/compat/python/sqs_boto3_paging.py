"""boto3 (query protocol) against a Pier whose SQS memory window is far smaller than the queue:
sends COUNT messages with UTF-8 bodies and a binary attribute, receives them all, and prints one
JSON object: what came back (in order) and whether each body and attribute was byte-exact.

usage: sqs_boto3_paging.py ENDPOINT_URL QUEUE_NAME COUNT
"""
import json
import sys

import boto3

ENDPOINT, NAME, COUNT = sys.argv[1], sys.argv[2], int(sys.argv[3])
sqs = boto3.client(
    "sqs",
    endpoint_url=ENDPOINT,
    region_name="us-east-1",
    aws_access_key_id="AKIDCOMPAT",
    aws_secret_access_key="compat-secret",
)


def body(i):
    return "py#%d:%s%s" % (i, "aé漢🙂" * (50 + i % 30), "q" * (i % 7))


def blob(i):
    return bytes((i * 13 + b) & 0xFF for b in range(16 + i % 40))


url = sqs.create_queue(QueueName=NAME)["QueueUrl"]
for first in range(0, COUNT, 10):
    entries = [
        {
            "Id": "e%d" % i,
            "MessageBody": body(i),
            "MessageAttributes": {"blob": {"DataType": "Binary", "BinaryValue": blob(i)}},
        }
        for i in range(first, min(COUNT, first + 10))
    ]
    failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
    assert not failed, failed

order, mismatches = [], []
while True:
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", [])
    if not messages:
        break
    for m in messages:
        i = int(m["Body"].split(":", 1)[0][3:])
        order.append(i)
        if m["Body"] != body(i) or m["MessageAttributes"]["blob"]["BinaryValue"] != blob(i):
            mismatches.append(i)
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "d%d" % k, "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(messages)],
    )
print(json.dumps({"order": order, "mismatches": mismatches}))
