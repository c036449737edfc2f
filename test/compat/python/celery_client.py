"""Celery client side of the Celery compat test: sends tasks to the worker, prints JSON lines.

Usage: celery_client.py <scenario>, with PIER_CELERY_BROKER set (see celery_app.py). Prints
{"event": "published", ...} once every task of the scenario is published (and confirmed by the
broker), then {"result": ...} once the results are in: over the rpc:// result backend (a reply
queue per client, named in reply_to), or, for `direct-reply`, over RabbitMQ's direct reply-to.
"""

import json
import sys
import time

from kombu import Consumer, Producer, Queue

from celery_app import QUEUE_A, QUEUE_B, add, app, flaky, report

TIMEOUT_S = 120


def emit(value):
    print(json.dumps(value), flush=True)


def identity():
    """What kombu reads from server-properties, and what it concludes about basic.qos."""
    with app.connection_for_write() as conn:
        conn.connect()
        props = conn.connection.server_properties
        emit({
            'result': {
                'product': props.get('product'),
                'version': props.get('version'),
                'pier_version': props.get('pier_version'),
                'qos_semantics_matches_spec': conn.qos_semantics_matches_spec,
            }
        })


def eta():
    """A task held for its countdown, then one to run at once, both on the same queue."""
    held = report.apply_async(('eta-task',), countdown=4, queue=QUEUE_A)
    now = report.apply_async(('next-task',), queue=QUEUE_A)
    emit({'event': 'published'})
    emit({'result': {'eta': held.get(timeout=TIMEOUT_S), 'next': now.get(timeout=TIMEOUT_S)}})


def retry():
    """A task failing three times, retried after 1 s each; sent with a 1 s countdown itself."""
    started = time.monotonic()
    result = flaky.apply_async(('flaky', 3), countdown=1, queue=QUEUE_A)
    emit({'event': 'published'})
    value = result.get(timeout=TIMEOUT_S)
    emit({'result': {'retries': value, 'seconds': time.monotonic() - started}})


def prefetch():
    """A task the test holds on one queue, and one more waiting on each queue."""
    held = report.apply_async(('hold',), queue=QUEUE_A)
    a = add.apply_async((2, 3), queue=QUEUE_A)
    b = add.apply_async((4, 5), queue=QUEUE_B)
    emit({'event': 'published'})
    emit({'result': {'hold': held.get(timeout=TIMEOUT_S), 'a': a.get(timeout=TIMEOUT_S), 'b': b.get(timeout=TIMEOUT_S)}})


def direct_reply():
    """A task whose result the worker's rpc backend sends to amq.rabbitmq.reply-to (no reply queue)."""
    replies = []
    with app.connection_for_write() as conn:
        channel = conn.channel()
        consumer = Consumer(
            channel,
            queues=[Queue('amq.rabbitmq.reply-to', no_declare=True)],
            no_ack=True,
            accept=['json'],
            callbacks=[lambda body, message: replies.append((body, message.properties))],
        )
        consumer.consume()
        sent = app.send_task(
            'celery_app.add',
            args=(20, 22),
            queue=QUEUE_A,
            producer=Producer(channel),
            reply_to='amq.rabbitmq.reply-to',
        )
        emit({'event': 'published'})
        deadline = time.monotonic() + TIMEOUT_S
        while not replies and time.monotonic() < deadline:
            conn.drain_events(timeout=deadline - time.monotonic())
        body, properties = replies[0]
        emit({
            'result': {
                'task_id': sent.id,
                'correlation_id': properties.get('correlation_id'),
                'status': body.get('status'),
                'value': body.get('result'),
            }
        })


def crash():
    """A task the worker is killed in; the test lets its redelivery finish."""
    result = report.apply_async(('crash',), queue=QUEUE_A)
    emit({'event': 'published'})
    emit({'result': result.get(timeout=TIMEOUT_S)})


SCENARIOS = {
    'identity': identity,
    'eta': eta,
    'retry': retry,
    'prefetch': prefetch,
    'direct-reply': direct_reply,
    'crash': crash,
}

if __name__ == '__main__':
    SCENARIOS[sys.argv[1]]()
