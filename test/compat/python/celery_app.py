"""The Celery app of the Celery compat test (test/compat/celery.test.ts).

Debian's python3-celery (5.2, on kombu 5.2 and py-amqp 5.1), run with /usr/bin/python3. The worker
(`python3 -m celery -A celery_app worker ...`, started by the test) and celery_client.py import it.
Settings come from the environment: PIER_CELERY_BROKER (the AMQP URL) and PIER_CELERY_GATE_PORT, a
TCP port on which the test hears of each task run and answers when the task may finish.

The worker is configured as the issue describes: acks_late, prefetch multiplier 1 (with -c 1),
results over rpc://, consuming two queues.
"""

import os
import socket

from celery import Celery
from kombu import Queue

QUEUE_A = 'celery-compat-a'
QUEUE_B = 'celery-compat-b'

app = Celery('celery_app', broker=os.environ['PIER_CELERY_BROKER'], backend='rpc://')
app.conf.update(
    task_queues=[Queue(QUEUE_A), Queue(QUEUE_B)],
    task_default_queue=QUEUE_A,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    # Publishes wait for the broker's confirm, so a publish is routed when apply_async returns.
    broker_transport_options={'confirm_publish': True},
    broker_connection_retry=False,
    broker_connection_max_retries=0,
    worker_redirect_stdouts=False,
    worker_hijack_root_logger=False,
)


def gate(event):
    """Tells the test that `event` happened and returns its answer (blocking until it gives one)."""
    port = int(os.environ['PIER_CELERY_GATE_PORT'])
    with socket.create_connection(('127.0.0.1', port), timeout=120) as sock:
        sock.sendall(f'{event}\n'.encode())
        return sock.makefile('r').readline().strip()


class TransientError(Exception):
    """A failure worth retrying."""


@app.task(bind=True)
def report(self, name):
    """Tells the test it runs (and whether this is a redelivery); returns what the test answered."""
    redelivered = bool(self.request.delivery_info.get('redelivered'))
    return gate(f'{name} redelivered={redelivered}')


@app.task(
    bind=True,
    autoretry_for=(TransientError,),
    retry_backoff=1,
    retry_backoff_max=1,
    retry_jitter=False,
    max_retries=5,
)
def flaky(self, name, failures):
    """Fails `failures` times, each retried after a 1 s countdown (backoff capped at 1 s)."""
    gate(f'{name} attempt={self.request.retries}')
    if self.request.retries < failures:
        raise TransientError(f'attempt {self.request.retries}')
    return self.request.retries


@app.task
def add(a, b):
    return a + b
