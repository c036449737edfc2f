"""kafka-python 2.0.2 told the broker is Kafka 0.10.1 (api_version=(0, 10, 1)): it then produces with
Produce v2 and the old message format (magic 1), uncompressed and gzip-compressed, as clients
older than Kafka 0.11 do. Pier up-converts to record batches, as Kafka 3.x does.

  kafka_python_legacy.py BOOTSTRAP TOPIC
prints {"offsets": [[compression, offset], ...]}
"""

import sys

from kafka import KafkaProducer

from kafkautil import done, fail

bootstrap, topic = sys.argv[1], sys.argv[2]
offsets = []
for compression in [None, 'gzip']:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, api_version=(0, 10, 1), compression_type=compression, linger_ms=50
    )
    futures = [
        producer.send(topic, key=b'k%d' % i, value=b'legacy-%s-%d' % ((compression or 'none').encode(), i),
                      partition=0, timestamp_ms=1_600_000_000_000 + i)
        for i in range(5)
    ]
    producer.flush(30)
    for future in futures:
        try:
            offsets.append([compression or 'none', future.get(timeout=10).offset])
        except Exception as error:  # noqa: BLE001 - reported to the test
            fail('%s: %s' % (compression, error))
    producer.close()
done({'offsets': offsets})
