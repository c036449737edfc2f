"""Re-encodes Kafka bodies with kafka-python's own protocol classes (Debian's python3-kafka 2.0.2).

Reads lines "req|resp <api key> <version> <hex body>" on stdin and prints one JSON list: for each line
"ok" (kafka-python decoded the body and re-encoded the same bytes, so both schemas agree), "none"
(kafka-python has no class for that version), or "diff <hex>" / "error <message>".
"""
import importlib
import io
import json
import pkgutil
import sys

import kafka.protocol as kp
from kafka.protocol.api import Request, Response

classes = {}
for module_info in pkgutil.iter_modules(kp.__path__):
    module = importlib.import_module('kafka.protocol.' + module_info.name)
    for name in dir(module):
        cls = getattr(module, name)
        if isinstance(cls, type) and issubclass(cls, (Request, Response)) and cls not in (Request, Response):
            try:
                classes[('req' if issubclass(cls, Request) else 'resp', cls.API_KEY, cls.API_VERSION)] = cls
            except (AttributeError, NotImplementedError):
                pass

results = []
for line in sys.stdin.read().splitlines():
    parts = line.split()
    kind, key, version = parts[0], int(parts[1]), int(parts[2])
    data = bytes.fromhex(parts[3] if len(parts) > 3 else '')
    cls = classes.get((kind, key, version))
    if cls is None:
        results.append('none')
        continue
    try:
        # Hold the decoded struct: kafka-python binds encode() through a weak reference to it.
        decoded = cls.decode(io.BytesIO(data))
        out = decoded.encode()
        results.append('ok' if out == data else 'diff ' + out.hex())
    except Exception as error:  # kafka-python raises assorted types on bad input
        results.append('error ' + repr(error)[:300])
print(json.dumps(results))
