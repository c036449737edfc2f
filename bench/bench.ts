// `npm run bench` entry point: `npm run bench -- kafka [options]` runs the Kafka benchmark
// (kafka-bench.ts), `npm run bench -- sqs [options]` the SQS one (sqs-bench.ts), `npm run bench --
// shovel` shovel throughput (shovel-bench.ts); anything else
// (`npm run bench -- --rabbitmq ...`, optionally after `amqp`) the AMQP one
// (amqp-bench.ts). Each reads its options from process.argv.
const [first] = process.argv.slice(2);
if (first === 'kafka' || first === 'sqs' || first === 'amqp' || first === 'shovel') process.argv.splice(2, 1);
await import(
  first === 'kafka'
    ? './kafka-bench.js'
    : first === 'sqs'
      ? './sqs-bench.js'
      : first === 'shovel'
        ? './shovel-bench.js'
        : './amqp-bench.js'
);
