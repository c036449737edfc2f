"""Reads a queue with pika's basic_get until it is empty.

usage: pika_get.py URL QUEUE MAX

Each message is fetched with basic_get(auto_ack=False) and acked. Stops at the first empty reply
(basic.get-empty) or after MAX messages. Prints {"messages": [...], "message_counts": [...], "empty": bool}:
message_counts holds get-ok's message-count (messages left in the queue) for each get.
"""

import sys

import pikautil


def main():
    url, queue, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    connection = pikautil.connect(url)
    channel = connection.channel()
    messages = []
    counts = []
    empty = False
    while len(messages) < limit:
        method, props, body = channel.basic_get(queue=queue, auto_ack=False)
        if method is None:
            empty = True
            break
        messages.append(pikautil.message_to_json(method, props, body))
        counts.append(method.message_count)
        channel.basic_ack(delivery_tag=method.delivery_tag)
    channel.close()
    connection.close()
    pikautil.emit({'messages': messages, 'message_counts': counts, 'empty': empty})


if __name__ == '__main__':
    main()
