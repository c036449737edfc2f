"""botocore's query-protocol codec for SQS, driven by test/compat/sqs-query-codec.test.ts.

Reads one JSON request per line from stdin:
  {"parse": "<Operation>", "status": 200, "body": "<xml>"}   -> the dict botocore's QueryParser gives
  {"serialize": "<Operation>", "params": {...}}             -> the form body botocore's QuerySerializer sends (encoded)
and writes a JSON list of results to stdout. Bytes are written as {"base64": "..."}.
"""
import base64
import json
import sys

import botocore.session
from botocore.parsers import QueryParser
from botocore.serialize import QuerySerializer
from botocore.utils import percent_encode_sequence


def plain(value):
    if isinstance(value, (bytes, bytearray)):
        return {'base64': base64.b64encode(value).decode('ascii')}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def main():
    model = botocore.session.get_session().get_service_model('sqs')
    results = []
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if 'parse' in req:
            op = model.operation_model(req['parse'])
            response = {'status_code': req['status'], 'headers': {}, 'body': req['body'].encode('utf-8')}
            parsed = QueryParser().parse(response, op.output_shape)
            results.append(plain(parsed))
        else:
            op = model.operation_model(req['serialize'])
            params = req['params']
            request = QuerySerializer().serialize_to_request(params, op)
            results.append(percent_encode_sequence(request['body']))
    json.dump(results, sys.stdout)


main()
