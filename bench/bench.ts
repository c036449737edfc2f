// `npm run bench` entry point: `npm run bench -- kafka [options]` runs the Kafka benchmark
// (kafka-bench.ts), `npm run bench -- sqs [options]` the SQS one (sqs-bench.ts); anything else
// (`npm run bench -- --rabbitmq ...`, optionally after `amqp`) the AMQP one
// (amqp-bench.ts); `npm run bench -- jobs` the jobs library against plain amqplib and BullMQ
// (jobs-bench.ts). Each reads its options from process.argv.
const [first] = process.argv.slice(2);
const benches: Record<string, string> = {
  kafka: './kafka-bench.js',
  sqs: './sqs-bench.js',
  jobs: './jobs-bench.js',
  amqp: './amqp-bench.js',
};
const chosen = first !== undefined && Object.hasOwn(benches, first) ? benches[first] : undefined;
if (chosen) process.argv.splice(2, 1);
await import(chosen ?? './amqp-bench.js');
