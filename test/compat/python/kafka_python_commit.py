"""kafka-python 2.0.2 (Debian's python3-kafka) commits one offset for a group with a manually
assigned partition (OffsetCommit with generation -1), logged in with SASL PLAIN.
Prints {"commit": "NO_ERROR" or the error class name}.

  --bootstrap H:P --user U --password P --group G --topic T --offset N
"""

import argparse
import json
import sys

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

parser = argparse.ArgumentParser()
parser.add_argument('--bootstrap', required=True)
parser.add_argument('--user', required=True)
parser.add_argument('--password', required=True)
parser.add_argument('--group', required=True)
parser.add_argument('--topic', required=True)
parser.add_argument('--offset', type=int, required=True)
args = parser.parse_args()

consumer = KafkaConsumer(
    bootstrap_servers=args.bootstrap,
    group_id=args.group,
    enable_auto_commit=False,
    security_protocol='SASL_PLAINTEXT',
    sasl_mechanism='PLAIN',
    sasl_plain_username=args.user,
    sasl_plain_password=args.password,
    request_timeout_ms=11000,
    session_timeout_ms=10000,
)
partition = TopicPartition(args.topic, 0)
consumer.assign([partition])
try:
    consumer.commit({partition: OffsetAndMetadata(args.offset, '')})
    outcome = 'NO_ERROR'
except Exception as error:  # kafka-python raises its own KafkaError subclasses
    outcome = type(error).__name__
consumer.close(autocommit=False)
sys.stdout.write(json.dumps({'commit': outcome}) + '\n')
