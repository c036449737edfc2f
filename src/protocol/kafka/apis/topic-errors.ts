/** Maps the core's topic refusals to Kafka error codes for the admin and Metadata handlers. */
import { TopicError } from '../../../core/kafka/topic-error.js';
import { KafkaError } from '../error-codes.js';

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export interface KafkaErrorAnswer {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export const NO_ERROR: KafkaErrorAnswer = { errorCode: KafkaError.NONE, errorMessage: null };

export function kafkaError(errorCode: number, errorMessage: string): KafkaErrorAnswer {
  return { errorCode, errorMessage };
}

/** The Kafka answer for a TopicError; anything else is a bug and is rethrown. */
export function fromTopicError(error: unknown): KafkaErrorAnswer {
  if (error instanceof TopicError) return { errorCode: KafkaError[error.code], errorMessage: error.message };
  throw error;
}

/** Runs `action`, answering NO_ERROR or the TopicError it threw. */
export function tryTopic(action: () => void): KafkaErrorAnswer {
  try {
    action();
    return NO_ERROR;
  } catch (error) {
    return fromTopicError(error);
  }
}
