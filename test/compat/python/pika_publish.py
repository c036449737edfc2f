"""Publishes messages with pika.

usage: pika_publish.py URL EXCHANGE ROUTING_KEY MESSAGES_JSON [--confirm] [--mandatory]

MESSAGES_JSON is a list of {"body": <body spec>, "properties": {...}, "routing_key": optional override}.
With --confirm the channel is put in confirm mode (confirm_delivery) and every publish waits for its
basic.ack; a nack or (with --mandatory) a basic.return is reported per message instead of raised.
Prints {"published": n, "results": ["ack" | "nack" | "unroutable", ...]} (results only with --confirm).
"""

import json
import sys

import pika.exceptions
import pikautil


def main():
    url, exchange, routing_key, messages_json = sys.argv[1:5]
    flags = set(sys.argv[5:])
    confirm = '--confirm' in flags
    mandatory = '--mandatory' in flags
    messages = json.loads(messages_json)

    connection = pikautil.connect(url)
    channel = connection.channel()
    if confirm:
        channel.confirm_delivery()
    results = []
    for message in messages:
        try:
            channel.basic_publish(
                exchange=exchange,
                routing_key=message.get('routing_key', routing_key),
                body=pikautil.body_from_spec(message['body']),
                properties=pikautil.properties_from_json(message.get('properties')),
                mandatory=mandatory,
            )
            results.append('ack')
        except pika.exceptions.UnroutableError:
            results.append('unroutable')
        except pika.exceptions.NackError:
            results.append('nack')
    channel.close()
    connection.close()
    out = {'published': len(messages)}
    if confirm:
        out['results'] = results
    pikautil.emit(out)


if __name__ == '__main__':
    main()
