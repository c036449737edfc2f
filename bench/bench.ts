// `npm run bench` entry point: `npm run bench -- kafka [options]` runs the Kafka benchmark
// (kafka-bench.ts), `npm run bench -- sqs [options]` the SQS one (sqs-bench.ts); anything else
// (`npm run bench -- --rabbitmq ...`, optionally after `amqp`) the AMQP one
// (amqp-bench.ts); `npm run bench -- management` the management API and metrics one
// (management-bench.ts). Each reads its options from process.argv.
const [first] = process.argv.slice(2);
const named: Record<string, string> = {
  kafka: './kafka-bench.js',
  sqs: './sqs-bench.js',
  amqp: './amqp-bench.js',
  management: './management-bench.js',
};
if (first !== undefined && first in named) process.argv.splice(2, 1);
await import(first !== undefined && first in named ? named[first]! : './amqp-bench.js');
