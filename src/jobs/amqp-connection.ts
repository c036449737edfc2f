/** Connections as Queue and Worker take them: a URL (owned, closed with them) or an amqplib connection. */
import amqplib, { type ChannelModel } from 'amqplib';

export type AmqpConnectionOption = string | ChannelModel;

export async function openConnection(
  option: AmqpConnectionOption,
  clientName: string,
): Promise<{ connection: ChannelModel; owned: boolean }> {
  if (typeof option !== 'string') return { connection: option, owned: false };
  // noDelay: with Nagle's algorithm on, amqplib's handshake waits out the broker's delayed ACK
  // (~45 ms per connect against Pier and RabbitMQ alike, ~4 ms without), and so would a confirm
  // or an ack frame written right after another.
  const connection = await amqplib.connect(option, {
    clientProperties: { connection_name: clientName },
    noDelay: true,
  });
  // A connection error is reported through close; without a listener it would crash the process.
  connection.on('error', () => {});
  return { connection, owned: true };
}

/** Publishes on a confirm channel and resolves once the broker confirmed (rejects on a nack). */
export function publishConfirmed(
  channel: import('amqplib').ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: Buffer,
  options: import('amqplib').Options.Publish,
): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.publish(exchange, routingKey, body, options, (error) => {
      if (!error) resolve();
      else if (/nacked/.test(String((error as Error).message)))
        reject(new Error(`the broker refused the publish to '${exchange || routingKey}' (nack)`));
      else
        reject(
          new Error(
            `the publish to '${exchange || routingKey}' was not confirmed: the channel closed before the broker answered (it may or may not have been stored)`,
          ),
        );
    });
  });
}
