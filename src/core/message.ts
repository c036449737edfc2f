/**
 * A message as the core sees it. The body Buffer is shared by every queue the message was routed
 * to; it is never copied per queue. `properties` holds the protocol's encoded property bytes
 * (for AMQP the content-header property flags and list) so a delivery can resend them unchanged.
 */
export interface Message {
  /** Exchange the message was published to ('' for the default exchange). */
  readonly exchange: string;
  readonly routingKey: string;
  /** Encoded properties: AMQP basic-class property flags followed by the property list. */
  readonly properties: Buffer;
  /** Null while a paged-out message's body is still on disk. */
  body: Buffer | null;
  readonly bodySizeBytes: number;
  /** delivery-mode 2: survives a restart when it sits in a durable queue. */
  readonly persistent: boolean;
  /** Wall-clock publish time in ms, from the injected clock. */
  readonly publishedAtMs: number;
  /** AMQP priority property (0-255; 0 when absent): picks the level in a priority queue. */
  readonly priority: number;
  /** Per-message TTL in ms (the AMQP `expiration` property), undefined when absent. */
  readonly expirationMs?: number | undefined;
}

/** A message held by one queue: the shared message plus that queue's bookkeeping for it. */
export interface QueuedMessage {
  readonly message: Message;
  /** Position in the queue's order; increases with every push. Requeued messages keep theirs. */
  readonly sequence: number;
  /** Times this queue has handed the message to a consumer before (0 = never delivered). */
  deliveryCount: number;
  /** When the message expires in this queue (queue TTL or its own expiration), 0 for never. */
  readonly expiresAtMs: number;
  /** Storage's handle for the stored copy (opaque to the core), or undefined if not stored. */
  storageRef: unknown;
}
