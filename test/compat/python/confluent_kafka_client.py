"""confluent-kafka 1.7 on librdkafka (Debian's python3-confluent-kafka) as a producer and a group
consumer; see kafkautil.py."""

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from kafkautil import Deadline, done, fail, parse_args


def produce(args):
    producer = Producer({
        'bootstrap.servers': args.bootstrap,
        'acks': 'all',
        'message.timeout.ms': 30000,
    })
    records = []
    errors = []

    def on_delivery(error, message):
        if error is not None:
            errors.append('%s: %s' % (message.key().decode(), error))
        else:
            records.append([message.key().decode(), message.partition(), message.offset()])

    for i in range(args.first, args.first + args.count):
        producer.produce(args.topic, key='key-%d' % i, value='value-%d' % i, on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(60)
    if errors:
        fail('%d deliveries failed, first: %s' % (len(errors), errors[0]))
    if left:
        fail('%d records still undelivered after 60 s' % left)
    records.sort(key=lambda r: int(r[0].split('-')[1]))
    done({'records': records})


def committed_offsets(consumer, topic, partitions):
    answer = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
    # librdkafka reports "no committed offset" as OFFSET_INVALID (-1001).
    return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in answer}


def consume(args):
    assigned = []
    consumer = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': args.group,
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'heartbeat.interval.ms': 500,
    })
    consumer.subscribe([args.topic], on_assign=lambda c, partitions: assigned.extend(partitions))
    records = []
    last = {}
    resumed_from = None
    deadline = Deadline(args.idle_timeout_s, 'confluent-kafka consume')
    while len(records) < args.count:
        message = consumer.poll(0.2)
        if resumed_from is None and assigned:
            resumed_from = committed_offsets(consumer, args.topic, [tp.partition for tp in assigned])
        if message is not None:
            if message.error():
                fail('consumer error: %s' % message.error())
            records.append([message.key().decode(), message.partition(), message.offset()])
            last[message.partition()] = message.offset()
            deadline.progress()
        deadline.check('%d of %d records, assigned %s' % (len(records), args.count, assigned))
    try:
        consumer.commit(offsets=[TopicPartition(args.topic, p, o + 1) for p, o in last.items()], asynchronous=False)
    except KafkaException as error:
        fail('commit failed: %s' % error)
    committed = committed_offsets(consumer, args.topic, list(last))
    consumer.close()
    done({'resumed_from': resumed_from, 'records': records, 'committed': committed})


args = parse_args()
produce(args) if args.command == 'produce' else consume(args)
