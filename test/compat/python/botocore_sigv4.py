"""Prints requests signed by botocore as JSON, for the SigV4 verification compat test.

Each request is what the server would receive: method, raw path, raw query, headers, body (base64).
  - 'client': a real boto3 SQS client call, captured in the before-send hook and never sent
  - 'query-auth': botocore's presigned (query-string) SigV4 of a GET
"""
import base64
import json
import sys
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY_ID, SECRET, REGION = sys.argv[1], sys.argv[2], sys.argv[3]
captured = []


class Captured(Exception):
    pass


def wire(method, url, headers, body):
    parts = urlsplit(url)
    if isinstance(body, str):
        body = body.encode('utf-8')
    return {
        'method': method,
        'path': parts.path or '/',
        'query': parts.query,
        'headers': {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()},
        'body': base64.b64encode(body or b'').decode(),
    }


def capture(request, **_):
    host = urlsplit(request.url).netloc
    headers = dict(request.headers.items())
    headers.setdefault('Host', host)
    captured.append(wire(request.method, request.url, headers, request.body))
    raise Captured()


client = boto3.client(
    'sqs', region_name=REGION, endpoint_url='http://127.0.0.1:9324',
    aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
)
client.meta.events.register('before-send', capture)
for call in (
    lambda: client.send_message(QueueUrl='http://127.0.0.1:9324/000000000000/q', MessageBody='é ~*+ /&=😀'),
    lambda: client.list_queues(QueueNamePrefix='a b'),
):
    try:
        call()
    except Captured:
        pass

presign = AWSRequest(method='GET', url='http://127.0.0.1:9324/000000000000/q?Action=ReceiveMessage&Version=2012-11-05')
SigV4QueryAuth(Credentials(KEY_ID, SECRET), 'sqs', REGION, expires=300).add_auth(presign)
presign_headers = dict(presign.headers.items())
presign_headers.setdefault('Host', '127.0.0.1:9324')
captured.append(wire('GET', presign.url, presign_headers, b''))

print(json.dumps({'botocore': __import__('botocore').__version__, 'requests': captured}))
