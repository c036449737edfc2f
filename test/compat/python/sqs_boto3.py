"""boto3 (Debian's 1.26, query protocol) against an SQS endpoint: runs each scenario and prints one
JSON object {scenario: result}. botocore 1.29 does not check SQS digests itself, so the MD5s are
checked here with an independent implementation of AWS's algorithm.

usage: sqs_boto3.py ENDPOINT_URL NAME_PREFIX
"""
import hashlib
import json
import struct
import sys

import boto3
from botocore.exceptions import ClientError

ENDPOINT, PREFIX = sys.argv[1], sys.argv[2]
sqs = boto3.client(
    "sqs",
    endpoint_url=ENDPOINT,
    region_name="us-east-1",
    aws_access_key_id="AKIDCOMPAT",
    aws_secret_access_key="compat-secret",
)


def md5_body(body):
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def md5_attributes(attributes):
    """AWS: per attribute in name order, length-prefixed name and type, a transport byte, the value."""
    digest = hashlib.md5()

    def prefixed(data):
        digest.update(struct.pack(">I", len(data)) + data)

    for name in sorted(attributes):
        value = attributes[name]
        prefixed(name.encode("utf-8"))
        prefixed(value["DataType"].encode("utf-8"))
        if "BinaryValue" in value:
            digest.update(b"\x02")
            prefixed(value["BinaryValue"])
        else:
            digest.update(b"\x01")
            prefixed(value["StringValue"].encode("utf-8"))
    return digest.hexdigest()


def error_code(call):
    try:
        call()
    except ClientError as error:
        return {"code": error.response["Error"]["Code"], "status": error.response["ResponseMetadata"]["HTTPStatusCode"]}
    return None


def receive_all(url, count, **extra):
    got = []
    for _ in range(20):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **extra)
        got.extend(answer.get("Messages", []))
        if len(got) >= count:
            break
    return got


def basic():
    url = sqs.create_queue(QueueName=PREFIX + "-basic")["QueueUrl"]
    attributes = {
        "color": {"DataType": "String", "StringValue": "red"},
        "count": {"DataType": "Number", "StringValue": "42"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff\x10"},
    }
    body = "héllo <pier> & \"sqs\""
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    answer = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1, MessageAttributeNames=["All"], AttributeNames=["All"]
    )
    message = answer["Messages"][0]
    received = message["MessageAttributes"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    after = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
    sqs.delete_queue(QueueUrl=url)
    return {
        "queueUrl": url,
        "sentMd5OfBodyOk": sent["MD5OfMessageBody"] == md5_body(body),
        "sentMd5OfAttributesOk": sent["MD5OfMessageAttributes"] == md5_attributes(attributes),
        "sameMessageId": sent["MessageId"] == message["MessageId"],
        "body": message["Body"],
        "md5OfBodyOk": message["MD5OfBody"] == md5_body(message["Body"]),
        "md5OfAttributesOk": message["MD5OfMessageAttributes"] == md5_attributes(received),
        "attributes": {
            name: value.get("StringValue", value.get("BinaryValue", b"").hex()) for name, value in received.items()
        },
        "receiveCount": message["Attributes"]["ApproximateReceiveCount"],
        "hasSentTimestamp": "SentTimestamp" in message["Attributes"],
        "afterDelete": len(after),
    }


def batch():
    url = sqs.create_queue(QueueName=PREFIX + "-batch")["QueueUrl"]
    entries = [{"Id": "e%d" % i, "MessageBody": "batch-%d" % i} for i in range(10)]
    sent = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    digests_ok = all(s["MD5OfMessageBody"] == md5_body("batch-" + s["Id"][1:]) for s in sent["Successful"])
    first = receive_all(url, 10, VisibilityTimeout=30)
    back = [m for m in first if int(m["Body"].split("-")[1]) < 5]
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[{"Id": "c%d" % i, "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(back)],
    )
    again = receive_all(url, len(back), AttributeNames=["ApproximateReceiveCount"])
    latest = {m["Body"]: m["ReceiptHandle"] for m in first}
    latest.update({m["Body"]: m["ReceiptHandle"] for m in again})
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "d%d" % i, "ReceiptHandle": h} for i, h in enumerate(latest.values())]
    )
    left = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    duplicate = error_code(
        lambda: sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "x", "MessageBody": "a"}, {"Id": "x", "MessageBody": "b"}]
        )
    )
    sqs.delete_queue(QueueUrl=url)
    return {
        "sentIds": sorted(s["Id"] for s in sent["Successful"]),
        "sendFailed": len(sent.get("Failed", [])),
        "sentDigestsOk": digests_ok,
        "firstBodies": sorted(m["Body"] for m in first),
        "changed": len(changed["Successful"]),
        "againBodies": sorted(m["Body"] for m in again),
        "againReceiveCounts": sorted(m["Attributes"]["ApproximateReceiveCount"] for m in again),
        "deleted": len(deleted["Successful"]),
        "deleteFailed": len(deleted.get("Failed", [])),
        "left": left,
        "duplicateIdError": duplicate,
    }


def attributes():
    name = PREFIX + "-attrs"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45", "DelaySeconds": "2"})["QueueUrl"]
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"MessageRetentionPeriod": "3600", "ReceiveMessageWaitTimeSeconds": "2", "DelaySeconds": "0"}
    )
    after = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "DelaySeconds"]
    )["Attributes"]
    invalid = error_code(lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "43201"}))
    conflict = error_code(lambda: sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "46"}))
    sqs.delete_queue(QueueUrl=url)
    missing = error_code(lambda: sqs.get_queue_url(QueueName=name))
    return {
        "queueName": name,
        "before": before,
        "after": after,
        "invalidValue": invalid,
        "createConflict": conflict,
        "afterDelete": missing,
    }


def fifo():
    url = sqs.create_queue(QueueName=PREFIX + "-order.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    ids = {}
    for group, count in (("a", 3), ("b", 2)):
        for i in range(count):
            body = "%s%d" % (group, i)
            sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
            ids[body] = sent["MessageId"]
    repeat = sqs.send_message(QueueUrl=url, MessageBody="a0 again", MessageGroupId="a", MessageDeduplicationId="a0")
    no_group = error_code(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="x"))
    # One message in flight blocks its group: the next receive may only return the other group.
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"])["Messages"][0]
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
    order = [first] + second
    for message in order:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    rest = receive_all(url, 5 - len(order), AttributeNames=["All"])
    for message in rest:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sqs.delete_queue(QueueUrl=url)
    everything = order + rest
    return {
        "firstGroup": first["Attributes"]["MessageGroupId"],
        "secondGroups": sorted(set(m["Attributes"]["MessageGroupId"] for m in second)),
        "received": [m["Body"] for m in everything],
        "sequenceNumbers": [m["Attributes"]["SequenceNumber"] for m in everything],
        "dedupRepeatSameId": repeat["MessageId"] == ids["a0"],
        "noGroupError": no_group,
    }


def dlq():
    dlq_url = sqs.create_queue(QueueName=PREFIX + "-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    src_url = sqs.create_queue(QueueName=PREFIX + "-src", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    src_arn = sqs.get_queue_attributes(QueueUrl=src_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=src_url, MessageBody="poison")
    counts = []
    for _ in range(3):
        got = sqs.receive_message(QueueUrl=src_url, VisibilityTimeout=0, AttributeNames=["All"]).get("Messages", [])
        counts.append([m["Attributes"]["ApproximateReceiveCount"] for m in got])
    moved = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages", [])
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    stored_policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=src_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    sqs.delete_queue(QueueUrl=src_url)
    sqs.delete_queue(QueueUrl=dlq_url)
    return {
        "srcArn": src_arn,
        "srcUrl": src_url,
        "receiveCounts": counts,
        "dlqBodies": [m["Body"] for m in moved],
        "dlqSourceArn": [m["Attributes"].get("DeadLetterQueueSourceArn") for m in moved],
        "dlqReceiveCounts": [m["Attributes"]["ApproximateReceiveCount"] for m in moved],
        "sources": sources,
        "storedPolicy": stored_policy,
        "dlqArn": dlq_arn,
    }


def error_of(call):
    """The query error as botocore reads it: code, message, HTTP status."""
    try:
        call()
    except ClientError as error:
        return {
            "code": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    return None


def conformance():
    """Issue 14's points as the query protocol shows them."""
    out = {}
    out["missingQueue"] = error_of(lambda: sqs.get_queue_url(QueueName=PREFIX + "-absent"))
    url = sqs.create_queue(QueueName=PREFIX + "-conf")["QueueUrl"]
    out["badDelay"] = error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901))
    out["emptyReceive"] = "Messages" in sqs.receive_message(QueueUrl=url)
    out["fifoFalse"] = error_of(
        lambda: sqs.create_queue(QueueName=PREFIX + "-std", Attributes={"FifoQueue": "false"})
    )
    small = sqs.create_queue(QueueName=PREFIX + "-small", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    batch = sqs.send_message_batch(
        QueueUrl=small,
        Entries=[{"Id": "small", "MessageBody": "x"}, {"Id": "big", "MessageBody": "y" * 2000}],
    )
    out["batchSuccessful"] = [e["Id"] for e in batch.get("Successful", [])]
    out["batchFailed"] = batch.get("Failed", [])
    fifo_url = sqs.create_queue(QueueName=PREFIX + "-conf.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    out["fifoBatchNoGroup"] = error_of(
        lambda: sqs.send_message_batch(
            QueueUrl=fifo_url, Entries=[{"Id": "a", "MessageBody": "a", "MessageDeduplicationId": "a"}]
        )
    )
    sqs.send_message(QueueUrl=fifo_url, MessageBody="a", MessageGroupId="g", MessageDeduplicationId="d")
    sqs.purge_queue(QueueUrl=fifo_url)
    sqs.send_message(QueueUrl=fifo_url, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="d")
    out["afterPurge"] = [m["Body"] for m in sqs.receive_message(QueueUrl=fifo_url).get("Messages", [])]
    sqs.send_message(
        QueueUrl=url,
        MessageBody="attrs",
        MessageAttributes={
            "Héllo": {"DataType": "String", "StringValue": "1"},
            "Hello": {"DataType": "String", "StringValue": "2"},
            "Other": {"DataType": "String", "StringValue": "3"},
        },
    )
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["Hel.*"]).get("Messages", [])
    out["prefixFiltered"] = sorted(got[0].get("MessageAttributes", {})) if got else None
    gone_handle = got[0]["ReceiptHandle"] if got else ""
    sqs.delete_message(QueueUrl=url, ReceiptHandle=gone_handle)
    out["changeDeleted"] = error_of(
        lambda: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=gone_handle, VisibilityTimeout=5)
    )
    sqs.add_permission(QueueUrl=url, Label="send", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    out["policy"] = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    sqs.delete_queue(QueueUrl=small)
    out["deletedRecently"] = error_of(lambda: sqs.create_queue(QueueName=PREFIX + "-small"))
    out["fifoOnly"] = error_of(
        lambda: sqs.create_queue(QueueName=PREFIX + "-std2", Attributes={"DeduplicationScope": "queue"})
    )
    out["fifoToStandard"] = error_of(
        lambda: sqs.set_queue_attributes(QueueUrl=fifo_url, Attributes={"FifoQueue": "false"})
    )
    # A message given back (visibility 0) is received again before one sent while it was in flight.
    order_url = sqs.create_queue(QueueName=PREFIX + "-order")["QueueUrl"]
    sqs.send_message(QueueUrl=order_url, MessageBody="test1")
    first = sqs.receive_message(QueueUrl=order_url)["Messages"][0]
    sqs.send_message(QueueUrl=order_url, MessageBody="test2")
    sqs.change_message_visibility(QueueUrl=order_url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    out["requeueOrder"] = [
        sqs.receive_message(QueueUrl=order_url)["Messages"][0]["Body"],
        sqs.receive_message(QueueUrl=order_url)["Messages"][0]["Body"],
    ]
    return out


def regions():
    """A client signing for eu-west-1 on the same endpoint: its own queues, URLs and ARNs."""
    west = boto3.client(
        "sqs",
        endpoint_url=ENDPOINT,
        region_name="eu-west-1",
        aws_access_key_id="AKIDCOMPAT",
        aws_secret_access_key="compat-secret",
    )
    name = PREFIX + "-region"
    out = {}
    east_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    west_url = west.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    out["eastUrl"] = east_url
    out["westUrl"] = west_url
    arn = lambda client, url: client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    out["eastArn"] = arn(sqs, east_url)
    out["westArn"] = arn(west, west_url)
    out["westArnByAwsUrl"] = arn(west, "https://sqs.eu-west-1.amazonaws.com/000000000000/" + name)
    out["eastList"] = sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])
    out["westList"] = west.list_queues(QueueNamePrefix=name).get("QueueUrls", [])
    west.send_message(QueueUrl=west_url, MessageBody="west")
    out["eastReceived"] = len(sqs.receive_message(QueueUrl=east_url).get("Messages", []))
    out["wrongRegion"] = error_of(lambda: arn(sqs, west_url))
    return out


results = {}
for scenario in (basic, batch, attributes, fifo, dlq, conformance, regions):
    try:
        results[scenario.__name__] = scenario()
    except Exception as error:  # report every scenario; the test names the one that failed
        results[scenario.__name__] = {"exception": "%s: %s" % (type(error).__name__, error)}
print(json.dumps(results))
