/**
 * Message and churn counters of the AMQP side, as RabbitMQ's Prometheus plugin exports them
 * (rabbitmq_global_messages_*_total, rabbitmq_{connections,channels,queues}_*_total). Plain
 * integer fields, incremented in the hot paths (publish, deliver, ack) without allocating; the
 * metrics module (src/metrics) reads them when scraped. One instance per broker, on BrokerCore.
 */
export class AmqpStats {
  /** basic.publish messages received (complete, after content frames). */
  messagesReceived = 0;
  /** Of those, on channels in confirm mode. */
  messagesReceivedConfirm = 0;
  /** Routed to at least one queue. */
  messagesRouted = 0;
  /** Routed nowhere, not mandatory: dropped. */
  messagesUnroutableDropped = 0;
  /** Routed nowhere, mandatory: returned with basic.return. */
  messagesUnroutableReturned = 0;
  /** Publishes confirmed with basic.ack. */
  messagesConfirmed = 0;
  deliveredConsumeAutoAck = 0;
  deliveredConsumeManualAck = 0;
  deliveredGetAutoAck = 0;
  deliveredGetManualAck = 0;
  getEmpty = 0;
  /** Deliveries (consume or get) with the redelivered flag set. */
  redelivered = 0;
  /** Deliveries acknowledged with basic.ack. */
  acknowledged = 0;
  deadLetteredRejected = 0;
  deadLetteredExpired = 0;
  deadLetteredMaxlen = 0;
  deadLetteredDeliveryLimit = 0;
  connectionsOpened = 0;
  connectionsClosed = 0;
  channelsOpened = 0;
  channelsClosed = 0;
  /** queue.declare (not passive), whether or not the queue existed. */
  queuesDeclared = 0;
  /** Queues created by a declare (not those restored at start). */
  queuesCreated = 0;
  queuesDeleted = 0;
  /**
   * Channels that have published at least once and are still open: RabbitMQ's
   * rabbitmq_global_publishers (a channel becomes a publisher on its first basic.publish).
   */
  publishers = 0;
}
