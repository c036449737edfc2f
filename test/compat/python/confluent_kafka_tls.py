"""confluent-kafka (librdkafka) over Kafka's TLS listener: produces three records and reads them back
with a consumer group. The client configuration (security.protocol, ssl.*, sasl.*) comes as a JSON
object. Prints {"delivered": n, "values": [...], "errors": [...]} on stdout.

  --bootstrap H:P --topic T --config '{"security.protocol": "SSL", ...}'
"""

import argparse
import json
import sys

from confluent_kafka import Consumer, Producer

parser = argparse.ArgumentParser()
parser.add_argument('--bootstrap', required=True)
parser.add_argument('--topic', required=True)
parser.add_argument('--config', required=True)
args = parser.parse_args()

common = {'bootstrap.servers': args.bootstrap, **json.loads(args.config)}
errors = []
delivered = 0


def on_delivery(error, _message):
    global delivered
    if error:
        errors.append(error.name())
    else:
        delivered += 1


producer = Producer({**common, 'message.timeout.ms': 20000, 'error_cb': lambda e: errors.append(e.name())})
for value in (b'one', b'two', b'three'):
    producer.produce(args.topic, value=value, on_delivery=on_delivery)
producer.flush(30)

consumer = Consumer(
    {
        **common,
        'group.id': 'tls-' + args.topic,
        'auto.offset.reset': 'earliest',
        'error_cb': lambda e: errors.append(e.name()),
    }
)
consumer.subscribe([args.topic])
values = []
for _ in range(60):
    if len(values) >= delivered or (errors and delivered == 0):
        break
    message = consumer.poll(1.0)
    if message is None:
        continue
    if message.error():
        errors.append(message.error().name())
        continue
    values.append(message.value().decode())
consumer.close()
sys.stdout.write(json.dumps({'delivered': delivered, 'values': values, 'errors': sorted(set(errors))}) + '\n')
