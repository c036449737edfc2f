"""kafka-python 2.0.2 (Debian's python3-kafka) as a producer and a group consumer; see kafkautil.py."""

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from kafkautil import Deadline, done, fail, parse_args


def produce(args):
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks='all', retries=0, linger_ms=5)
    futures = []
    for i in range(args.first, args.first + args.count):
        key = ('key-%d' % i).encode()
        futures.append((key, producer.send(args.topic, key=key, value=('value-%d' % i).encode())))
    records = []
    for key, future in futures:
        try:
            metadata = future.get(timeout=30)
        except Exception as error:  # kafka-python raises its own KafkaError subclasses
            fail('send of %s failed: %r' % (key.decode(), error))
        records.append([key.decode(), metadata.partition, metadata.offset])
    producer.close(timeout=10)
    done({'records': records})


def consume(args):
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset='earliest',
        max_poll_records=100,
    )
    consumer.subscribe([args.topic])
    records = []
    last = {}
    resumed_from = None
    deadline = Deadline(args.idle_timeout_s, 'kafka-python consume')
    while len(records) < args.count:
        batches = consumer.poll(timeout_ms=200)
        if resumed_from is None and consumer.assignment():
            # What the group had committed when this member got its partitions.
            resumed_from = {tp.partition: consumer.committed(tp) for tp in consumer.assignment()}
        for tp, messages in batches.items():
            for message in messages:
                if len(records) == args.count:
                    break
                records.append([message.key.decode(), tp.partition, message.offset])
                last[tp.partition] = message.offset
                deadline.progress()
        deadline.check('%d of %d records, assignment %s' % (len(records), args.count, consumer.assignment()))
    offsets = {TopicPartition(args.topic, p): OffsetAndMetadata(o + 1, None) for p, o in last.items()}
    consumer.commit(offsets)
    committed = {p: consumer.committed(TopicPartition(args.topic, p)) for p in last}
    consumer.close(autocommit=False)
    done({'resumed_from': resumed_from, 'records': records, 'committed': committed})


args = parse_args()
produce(args) if args.command == 'produce' else consume(args)
