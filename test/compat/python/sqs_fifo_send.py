"""Sends COUNT messages to a FIFO queue with boto3 (query protocol), GROUPS message groups in turn.

Usage: sqs_fifo_send.py ENDPOINT QUEUE_URL COUNT GROUPS
Each message: body "job <group> <n>", MessageGroupId "g<group>", a Number attribute n, a
deduplication id "d<n>". Prints nothing; exits non-zero on the first refused send.
"""
import sys

import boto3

endpoint, queue_url, count, groups = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sqs = boto3.client(
    "sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
)
for n in range(count):
    group = n % groups
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=f"job {group} {n}",
        MessageGroupId=f"g{group}",
        MessageDeduplicationId=f"d{n}",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": str(n)}},
    )
