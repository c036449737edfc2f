"""Consumes with pika's basic_consume and manual acks.

usage: pika_consume.py URL QUEUE COUNT [PREFETCH] [TIMEOUT_SECONDS]

Acks every delivery (basic_ack) as it arrives, stops after COUNT deliveries or the timeout, cancels the
consumer and closes. Prints {"messages": [...], "consumer_tag": str, "timed_out": bool, "cancel_ok": bool}.
"""

import sys

import pikautil


def main():
    url, queue, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    prefetch = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 15.0

    connection = pikautil.connect(url)
    channel = connection.channel()
    if prefetch:
        channel.basic_qos(prefetch_count=prefetch)
    state = {'messages': [], 'timed_out': False}

    def on_message(ch, method, props, body):
        state['messages'].append(pikautil.message_to_json(method, props, body))
        ch.basic_ack(delivery_tag=method.delivery_tag)
        if len(state['messages']) >= count:
            ch.stop_consuming()

    def on_timeout():
        state['timed_out'] = True
        channel.stop_consuming()

    consumer_tag = channel.basic_consume(queue=queue, on_message_callback=on_message, auto_ack=False)
    timer = connection.call_later(timeout, on_timeout)
    if count > 0:
        channel.start_consuming()
    connection.remove_timeout(timer)
    # stop_consuming cancels the consumer (basic.cancel / cancel-ok) before returning.
    cancel_ok = consumer_tag not in channel.consumer_tags
    channel.close()
    connection.close()
    pikautil.emit(
        {
            'messages': state['messages'],
            'consumer_tag': consumer_tag,
            'timed_out': state['timed_out'],
            'cancel_ok': cancel_ok,
        }
    )


if __name__ == '__main__':
    main()
