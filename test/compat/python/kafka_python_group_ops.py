"""kafka-python 2.0.2 (Debian's python3-kafka): DescribeGroups v3 with include_authorized_operations,
as its admin client sends it. Prints {"groups": {group: authorized_operations or error name}}.
(2.0.2 decodes the v3 answer with its v2 schema, so authorized_operations is None.)

  --bootstrap H:P --group G [--group G2 ...]
"""

import argparse
import json
import sys

from kafka.admin import KafkaAdminClient

parser = argparse.ArgumentParser()
parser.add_argument('--bootstrap', required=True)
parser.add_argument('--group', action='append', required=True)
args = parser.parse_args()

admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=10000)
groups = {}
for group in args.group:
    try:
        [described] = admin.describe_consumer_groups([group], include_authorized_operations=True)
        groups[group] = described.authorized_operations
    except Exception as error:  # kafka-python raises its own KafkaError subclasses
        groups[group] = type(error).__name__
admin.close()
sys.stdout.write(json.dumps({'groups': groups}) + '\n')
