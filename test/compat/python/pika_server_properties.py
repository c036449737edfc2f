"""Reports what pika saw in connection.start.

usage: pika_server_properties.py URL

Prints {"server_properties": {...}, "capabilities": {...}, "supported": {...}}: the server-properties
table, its capabilities sub-table, and pika's own *_supported flags derived from them.
"""

import sys

import pikautil


def main():
    connection = pikautil.connect(sys.argv[1])
    impl = connection._impl  # pika keeps the connection.start tables on the underlying connection
    result = {
        'server_properties': pikautil.to_json(impl.server_properties),
        'capabilities': pikautil.to_json(impl.server_capabilities),
        'supported': {
            'basic_nack': connection.basic_nack_supported,
            'consumer_cancel_notify': connection.consumer_cancel_notify_supported,
            'exchange_exchange_bindings': connection.exchange_exchange_bindings_supported,
            'publisher_confirms': connection.publisher_confirms_supported,
        },
    }
    connection.close()
    pikautil.emit(result)


if __name__ == '__main__':
    main()
