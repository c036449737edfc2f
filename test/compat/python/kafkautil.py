"""Shared plumbing for the Kafka client scripts (kafka_python_client.py, confluent_kafka_client.py).

Run by the node:test files in test/compat/ with Debian's /usr/bin/python3 (where python3-kafka and
python3-confluent-kafka install). Each script takes a subcommand and flags, prints one JSON object on
stdout, and on failure prints what went wrong to stderr and exits 1.

  produce --bootstrap H:P --topic T --count N [--first I]
      sends keys key-I.. with values value-I.., acks=all; prints {"records": [[key, partition, offset], ...]}
  consume --bootstrap H:P --topic T --group G --count N [--idle-timeout-s S]
      joins group G, reads exactly N records, commits (synchronously) the offset after the last record it
      read of each partition, leaves; prints {"resumed_from": {partition: committed offset before reading
      or null}, "records": [[key, partition, offset], ...], "committed": {partition: offset after commit}}
"""

import argparse
import json
import sys
import time


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('command', choices=['produce', 'consume'])
    parser.add_argument('--bootstrap', required=True)
    parser.add_argument('--topic', required=True)
    parser.add_argument('--group')
    parser.add_argument('--count', type=int, required=True)
    parser.add_argument('--first', type=int, default=0)
    parser.add_argument('--idle-timeout-s', type=float, default=30.0)
    args = parser.parse_args()
    if args.command == 'consume' and not args.group:
        fail('consume needs --group')
    return args


def fail(message):
    sys.stderr.write('FAILED: %s\n' % message)
    sys.exit(1)


def done(result):
    sys.stdout.write(json.dumps(result) + '\n')
    sys.stdout.flush()


class Deadline:
    """Fails the script when no progress was made for idle_s seconds."""

    def __init__(self, idle_s, what):
        self.idle_s = idle_s
        self.what = what
        self.progress()

    def progress(self):
        self.last = time.monotonic()

    def check(self, detail):
        if time.monotonic() - self.last > self.idle_s:
            fail('%s: no progress for %.0f s (%s)' % (self.what, self.idle_s, detail))
