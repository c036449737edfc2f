/**
 * An SQS message as the core keeps it. The protocol layer validates input and computes the MD5
 * digests once, at send; the core stores them with the message, so a receive (or a message moved
 * to a dead-letter queue and back) answers with the digests the sender was given.
 */

/** A message (or message system) attribute as the API carries it; binary values decoded. */
export interface SqsAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
  StringListValues?: string[];
  BinaryListValues?: Uint8Array[];
}

export type SqsAttributeMap = Readonly<Record<string, SqsAttributeValue>>;

/** What a sender supplies, validated by the protocol layer. */
export interface SqsSendInput {
  readonly body: string;
  /** Hex MD5 of the body's UTF-8 bytes. */
  readonly bodyMd5: string;
  readonly messageAttributes?: SqsAttributeMap | undefined;
  readonly messageAttributesMd5?: string | undefined;
  /** Message system attributes (AWSTraceHeader). */
  readonly systemAttributes?: SqsAttributeMap | undefined;
  readonly systemAttributesMd5?: string | undefined;
  /** Body plus attribute names, types and values, as AWS counts against MaximumMessageSize. */
  readonly sizeBytes: number;
  /** Per-message DelaySeconds (standard queues only); undefined = the queue's DelaySeconds. */
  readonly delaySeconds?: number | undefined;
  /** FIFO: required. Standard queues accept and return it too (fair queues), without ordering. */
  readonly messageGroupId?: string | undefined;
  /**
   * FIFO: the MessageDeduplicationId in effect. The caller supplies it: the explicit one, or with
   * ContentBasedDeduplication the hex SHA-256 of the body.
   */
  readonly deduplicationId?: string | undefined;
  /** The caller's identity for the SenderId attribute (the access key id, or the account id). */
  readonly senderId: string;
}

/** A message held by one SQS queue. */
export interface SqsMessage {
  readonly messageId: string;
  readonly body: string;
  readonly bodyMd5: string;
  readonly messageAttributes: SqsAttributeMap | undefined;
  readonly messageAttributesMd5: string | undefined;
  readonly systemAttributes: SqsAttributeMap | undefined;
  readonly systemAttributesMd5: string | undefined;
  readonly sizeBytes: number;
  readonly senderId: string;
  /** SentTimestamp, epoch ms (kept when the message moves to a dead-letter queue and back). */
  readonly sentAtMs: number;
  readonly messageGroupId: string | undefined;
  /** FIFO: the deduplication id in effect (explicit or the body's SHA-256). */
  readonly deduplicationId: string | undefined;
  /** FIFO: a 20-digit decimal number, increasing within the queue. */
  readonly sequenceNumber: string | undefined;
  /** DeadLetterQueueSourceArn: set when a redrive policy moved the message here. */
  readonly deadLetterSourceArn: string | undefined;
  /** When the message first becomes visible (its delay), epoch ms. */
  readonly visibleFromMs: number;
  /** ApproximateReceiveCount. */
  receiveCount: number;
  /** ApproximateFirstReceiveTimestamp, epoch ms; 0 until the first receive. */
  firstReceivedAtMs: number;
  /** Storage's handle for the stored copy (opaque to the core), undefined when not stored. */
  storageRef: unknown;
}

/** One message handed out by ReceiveMessage. */
export interface SqsReceivedMessage {
  readonly message: SqsMessage;
  /** Opaque token naming this lease: DeleteMessage and ChangeMessageVisibility take it. */
  readonly receiptHandle: string;
}
