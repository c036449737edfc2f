"""confluent-kafka (Debian's python3-confluent-kafka on librdkafka) exactly-once: a transactional
consume-transform-produce loop with a read_committed consumer. Prints one JSON object on stdout.

  fill --bootstrap H:P --topic IN --count N
      produces in-0..in-N-1 (idempotent, acks=all) over the topic's partitions
  transform --bootstrap H:P --topic IN --out OUT --group G --txn-id X [--batch B]
      consumes IN from G's committed offsets (read_committed), and for every batch of up to B
      records runs one transaction: the records to OUT as out-<value>, then the consumer's positions
      with send_offsets_to_transaction, then commit. Ends when G's positions reach IN's end.
      Any Kafka error ends the process with code 3 (the caller restarts it: a new instance fences
      the old one and resumes at the committed offsets). Prints {"transactions": n, "records": m}.
  read --bootstrap H:P --topic OUT --count N
      reads OUT from the beginning with isolation.level=read_committed until N records or idle;
      prints {"values": [...]}
"""

import argparse
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

RESTART = 3


def done(result):
    sys.stdout.write(json.dumps(result) + '\n')
    sys.stdout.flush()


def fill(args):
    producer = Producer({'bootstrap.servers': args.bootstrap, 'enable.idempotence': True, 'acks': 'all'})
    for i in range(args.count):
        producer.produce(args.topic, key='k%d' % i, value='in-%d' % i)
        if i % 1000 == 0:
            producer.poll(0)
    left = producer.flush(60)
    if left:
        sys.stderr.write('%d records undelivered\n' % left)
        sys.exit(1)
    done({'produced': args.count})


def transform(args):
    consumer = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': args.group,
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'isolation.level': 'read_committed',
        'heartbeat.interval.ms': 500,
    })
    producer = Producer({
        'bootstrap.servers': args.bootstrap,
        'transactional.id': args.txn_id,
        'transaction.timeout.ms': 60000,
    })
    transactions = 0
    records = 0
    try:
        producer.init_transactions(30)
        consumer.subscribe([args.topic])
        metadata = consumer.list_topics(args.topic, timeout=10)
        partitions = sorted(metadata.topics[args.topic].partitions)
        ends = {}
        for p in partitions:
            ends[p] = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=10)[1]
        idle_since = time.monotonic()
        while True:
            messages = consumer.consume(args.batch, 0.5)
            messages = [m for m in messages if m.error() is None]
            if not messages:
                assignment = consumer.assignment()
                if assignment:
                    positions = consumer.position(assignment)
                    committed = consumer.committed(assignment, timeout=10)
                    if len(assignment) == len(partitions) and all(
                            c.offset >= ends[c.partition] for c in committed):
                        break
                    if all(p.offset >= ends[p.partition] for p in positions if p.offset >= 0) and \
                            all(p.offset >= 0 for p in positions) and len(positions) == len(partitions):
                        break
                if time.monotonic() - idle_since > 60:
                    sys.stderr.write('no progress for 60 s\n')
                    sys.exit(RESTART)
                continue
            idle_since = time.monotonic()
            producer.begin_transaction()
            for m in messages:
                producer.produce(args.out, key=m.key(), value=b'out-' + m.value(), partition=m.partition())
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
            transactions += 1
            records += len(messages)
    except KafkaException as error:
        sys.stderr.write('transform: %s\n' % error)
        sys.exit(RESTART)
    consumer.close()
    done({'transactions': transactions, 'records': records})


def read(args):
    consumer = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': 'reader-%d' % time.time_ns(),
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'isolation.level': 'read_committed',
    })
    metadata = consumer.list_topics(args.topic, timeout=10)
    consumer.assign([TopicPartition(args.topic, p, 0) for p in metadata.topics[args.topic].partitions])
    values = []
    last = time.monotonic()
    while len(values) < args.count and time.monotonic() - last < args.idle_s:
        for m in consumer.consume(1000, 0.5):
            if m.error() is None:
                values.append(m.value().decode())
                last = time.monotonic()
    # A little more, so duplicates past the count show.
    end = time.monotonic() + 1
    while time.monotonic() < end:
        for m in consumer.consume(1000, 0.2):
            if m.error() is None:
                values.append(m.value().decode())
    consumer.close()
    done({'values': values})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('command', choices=['fill', 'transform', 'read'])
    parser.add_argument('--bootstrap', required=True)
    parser.add_argument('--topic', required=True)
    parser.add_argument('--out')
    parser.add_argument('--group')
    parser.add_argument('--txn-id')
    parser.add_argument('--count', type=int, default=0)
    parser.add_argument('--batch', type=int, default=500)
    parser.add_argument('--idle-s', type=float, default=10.0)
    args = parser.parse_args()
    {'fill': fill, 'transform': transform, 'read': read}[args.command](args)


if __name__ == '__main__':
    main()
