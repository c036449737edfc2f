"""confluent-kafka (librdkafka's own gzip, snappy, lz4 and zstd) against Pier: for each codec, ten
records with timestamps BASE, BASE+1000, ... sent as one compressed batch, then
offsets_for_times(BASE+4500) must name the sixth record exactly (Kafka decompresses the batch to find
it), and a consumer reads all ten back intact.

  confluent_kafka_codecs.py BOOTSTRAP TOPIC_PREFIX
prints {codec: {"offset": o, "values": [...], "timestamps": [...]}}
"""

import sys

from confluent_kafka import Consumer, Producer, TopicPartition

from kafkautil import Deadline, done, fail

BASE = 1_700_000_000_000
COUNT = 10


def run(bootstrap, topic, codec):
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'compression.type': codec,
        'linger.ms': 200,
        'acks': 'all',
    })
    for i in range(COUNT):
        producer.produce(topic, partition=0, value='value-%d %s' % (i, 'x' * 200), timestamp=BASE + i * 1000)
    if producer.flush(30):
        fail('%s: records still undelivered after 30 s' % codec)
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'codecs-' + topic,
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
    })
    [found] = consumer.offsets_for_times([TopicPartition(topic, 0, BASE + 4500)], timeout=10)
    consumer.assign([TopicPartition(topic, 0, 0)])
    values, timestamps = [], []
    deadline = Deadline(20, '%s consume' % codec)
    while len(values) < COUNT:
        message = consumer.poll(0.5)
        if message is not None:
            if message.error():
                fail('%s: consumer error %s' % (codec, message.error()))
            values.append(message.value().decode().split(' ')[0])
            timestamps.append(message.timestamp()[1])
            deadline.progress()
        deadline.check('%d of %d' % (len(values), COUNT))
    consumer.close()
    return {'offset': found.offset, 'values': values, 'timestamps': timestamps}


bootstrap, prefix = sys.argv[1], sys.argv[2]
done({codec: run(bootstrap, '%s-%s' % (prefix, codec), codec) for codec in ['gzip', 'snappy', 'lz4', 'zstd']})
