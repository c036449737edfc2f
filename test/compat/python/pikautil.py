"""Shared helpers for the pika compat scripts.

The scripts are run by the node:test files in test/compat/ with Debian's /usr/bin/python3 (which is where
python3-pika installs). Each takes the AMQP URL and its parameters as argv and prints one JSON object on
stdout. Values that JSON cannot carry are tagged: bytes as {"$bytes": base64}, decimal.Decimal as
{"$decimal": "3.14"}, datetime as {"$timestamp": epoch seconds}.
"""

import base64
import calendar
import decimal
import json
import sys
from datetime import datetime

import pika

PROPERTY_NAMES = (
    'content_type',
    'content_encoding',
    'headers',
    'delivery_mode',
    'priority',
    'correlation_id',
    'reply_to',
    'expiration',
    'message_id',
    'timestamp',
    'type',
    'user_id',
    'app_id',
    'cluster_id',
)


def connect(url):
    params = pika.URLParameters(url)
    params.socket_timeout = 10
    params.blocked_connection_timeout = 20
    params.connection_attempts = 1
    return pika.BlockingConnection(params)


def to_json(value):
    """Converts an AMQP field value as pika decoded it into tagged JSON."""
    if isinstance(value, (bytes, bytearray)):
        return {'$bytes': base64.b64encode(bytes(value)).decode('ascii')}
    if isinstance(value, decimal.Decimal):
        return {'$decimal': str(value)}
    if isinstance(value, datetime):
        return {'$timestamp': calendar.timegm(value.utctimetuple())}
    if isinstance(value, dict):
        return {(k.decode('utf8') if isinstance(k, bytes) else k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def from_json(value):
    """The inverse of to_json: builds the Python value pika should encode."""
    if isinstance(value, dict):
        if set(value) == {'$bytes'}:
            return base64.b64decode(value['$bytes'])
        if set(value) == {'$decimal'}:
            return decimal.Decimal(value['$decimal'])
        if set(value) == {'$timestamp'}:
            return datetime.utcfromtimestamp(value['$timestamp'])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def body_from_spec(spec):
    """A body is {"text": str}, {"b64": str} or {"repeat": str, "length": n} (for bodies too big for argv)."""
    if 'text' in spec:
        return spec['text'].encode('utf8')
    if 'b64' in spec:
        return base64.b64decode(spec['b64'])
    unit = spec['repeat'].encode('utf8')
    length = spec['length']
    return (unit * (length // len(unit) + 1))[:length]


def properties_from_json(props):
    return pika.BasicProperties(**{k: from_json(v) for k, v in (props or {}).items()})


def properties_to_json(props):
    """All properties that are set, as tagged JSON (unset ones are left out)."""
    out = {}
    for name in PROPERTY_NAMES:
        value = getattr(props, name, None)
        if value is not None:
            out[name] = to_json(value)
    return out


def message_to_json(method, props, body):
    return {
        'body_b64': base64.b64encode(body).decode('ascii'),
        'properties': properties_to_json(props),
        'exchange': method.exchange,
        'routing_key': method.routing_key,
        'redelivered': method.redelivered,
        'delivery_tag': method.delivery_tag,
    }


def emit(result):
    sys.stdout.write(json.dumps(result))
    sys.stdout.write('\n')
    sys.stdout.flush()
