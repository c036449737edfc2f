// `npm run bench` entry point: `npm run bench -- kafka [options]` runs the Kafka benchmark
// (kafka-bench.ts), `npm run bench -- sqs [options]` the SQS one (sqs-bench.ts); anything else
// (`npm run bench -- --rabbitmq ...`, optionally after `amqp`) the AMQP one
// (amqp-bench.ts); `scale` memory per connection and per queue (scale-bench.ts). Each reads its
// options from process.argv.
const WORKLOADS: Record<string, string> = {
  amqp: './amqp-bench.js',
  kafka: './kafka-bench.js',
  sqs: './sqs-bench.js',
  scale: './scale-bench.js',
};
const [first] = process.argv.slice(2);
const workload = first !== undefined ? WORKLOADS[first] : undefined;
if (workload) process.argv.splice(2, 1);
await import(workload ?? './amqp-bench.js');
