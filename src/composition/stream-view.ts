/**
 * Stream views (docs/bridges.md, "A Kafka topic as an AMQP stream"): an AMQP stream queue declared
 * with `x-kafka-topic` reads and appends to the Kafka partition's own log. The factory is made
 * before the AMQP core (which restores views) and attached to Kafka's topics once they are
 * composed; startBroker restores Kafka's topics before the AMQP definitions, so a recovered view
 * finds its partition.
 */
import { KafkaStreamViews } from '../bridge/kafka-stream-view.js';

export function composeStreamViews(): KafkaStreamViews {
  return new KafkaStreamViews();
}
