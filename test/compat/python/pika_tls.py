"""Publishes one message and reads it back over amqps with pika.

usage: pika_tls.py PORT CA_FILE QUEUE plain|external [CERT_FILE KEY_FILE]

plain: guest/guest over TLS; external: the EXTERNAL mechanism with the client certificate.
Prints {"body": ..., "cipher": [...], "version": ...}.
"""

import json
import ssl
import sys

import pika
from pika.credentials import ExternalCredentials, PlainCredentials


def main():
    port, ca_file, queue, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    context = ssl.create_default_context(cafile=ca_file)
    if len(sys.argv) > 6:
        context.load_cert_chain(sys.argv[5], sys.argv[6])
    credentials = ExternalCredentials() if mode == "external" else PlainCredentials("guest", "guest")
    params = pika.ConnectionParameters(
        host="localhost",
        port=port,
        credentials=credentials,
        ssl_options=pika.SSLOptions(context, "localhost"),
    )
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.queue_declare(queue=queue, auto_delete=True)
    channel.basic_publish(exchange="", routing_key=queue, body=b"over tls from pika")
    body = None
    while body is None:
        method, _props, got = channel.basic_get(queue=queue, auto_ack=True)
        if method is not None:
            body = got.decode()
    sock = connection._impl._transport._sock
    print(json.dumps({"body": body, "cipher": list(sock.cipher()), "version": sock.version()}))
    connection.close()


if __name__ == "__main__":
    main()
