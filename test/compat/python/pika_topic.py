"""Declares a topic exchange with pika, binds a queue to it and publishes through it.

usage: pika_topic.py URL EXCHANGE QUEUE PATTERNS_JSON ROUTING_KEYS_JSON

Declares EXCHANGE (type topic, not durable), checks it with a passive declare, binds the existing QUEUE
with every pattern in PATTERNS_JSON, then publishes one message per routing key in ROUTING_KEYS_JSON
(body = the routing key) on a confirm channel. Prints {"declared": true, "bound": [...], "results": [...]}.
"""

import json
import sys

import pika.exceptions
import pikautil


def main():
    url, exchange, queue = sys.argv[1:4]
    patterns = json.loads(sys.argv[4])
    routing_keys = json.loads(sys.argv[5])

    connection = pikautil.connect(url)
    channel = connection.channel()
    channel.exchange_declare(exchange=exchange, exchange_type='topic', durable=False, auto_delete=False)
    channel.exchange_declare(exchange=exchange, passive=True)
    for pattern in patterns:
        channel.queue_bind(queue=queue, exchange=exchange, routing_key=pattern)
    channel.confirm_delivery()
    results = []
    for key in routing_keys:
        try:
            channel.basic_publish(exchange=exchange, routing_key=key, body=key.encode('utf8'), mandatory=True)
            results.append('routed')
        except pika.exceptions.UnroutableError:
            results.append('unroutable')
    channel.close()
    connection.close()
    pikautil.emit({'declared': True, 'bound': patterns, 'results': results})


if __name__ == '__main__':
    main()
