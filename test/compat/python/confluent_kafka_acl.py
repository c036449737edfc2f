"""confluent-kafka (librdkafka) against Kafka ACLs: logs in with SASL PLAIN and produces one record,
then reads the topic's metadata. Prints one JSON object on stdout:
{"produce": "<error name or NO_ERROR>", "topics": [topic names the principal sees]}.

  --bootstrap H:P --user U --password P --topic T
"""

import argparse
import json
import sys

from confluent_kafka import Producer

parser = argparse.ArgumentParser()
parser.add_argument('--bootstrap', required=True)
parser.add_argument('--user', required=True)
parser.add_argument('--password', required=True)
parser.add_argument('--topic', required=True)
args = parser.parse_args()

config = {
    'bootstrap.servers': args.bootstrap,
    'security.protocol': 'SASL_PLAINTEXT',
    'sasl.mechanisms': 'PLAIN',
    'sasl.username': args.user,
    'sasl.password': args.password,
    'message.timeout.ms': 10000,
    'allow.auto.create.topics': False,
}
producer = Producer(config)
outcome = {}


def delivered(error, _message):
    outcome['produce'] = error.name() if error else 'NO_ERROR'


producer.produce(args.topic, value=b'hello', on_delivery=delivered)
producer.flush(15)
topics = sorted(producer.list_topics(timeout=10).topics.keys())
sys.stdout.write(json.dumps({'produce': outcome.get('produce', 'UNDELIVERED'), 'topics': topics}) + '\n')
