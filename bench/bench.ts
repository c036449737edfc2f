// `npm run bench` entry point: `npm run bench -- WORKLOAD [options]` runs one benchmark, each reading
// its options from process.argv; without a workload name (`npm run bench -- --rabbitmq ...`) the
// AMQP one runs.
const WORKLOADS: Record<string, string> = {
  amqp: './amqp-bench.js', // amqp-bench.ts: Pier vs RabbitMQ, transient and persistent
  kafka: './kafka-bench.js', // kafka-bench.ts: produce and consume, Pier vs a stub
  'kafka-txn': './kafka-txn-bench.js', // kafka-txn-bench.ts: transactions vs idempotent producers
  'kafka-fetch-sessions': './kafka-fetch-session-bench.js', // kafka-fetch-session-bench.ts: KIP-227 on vs off
  'kafka-cleaner-restart': './kafka-cleaner-restart-bench.js', // kafka-cleaner-restart-bench.ts: a cleaner pass after restart, checkpoint vs none
  'kafka-produce': './kafka-produce-bench.js', // kafka-produce-bench.ts: raw pipelined Produce, acks=all (not the limit), records/s
  'kafka-consume': './kafka-consume-bench.js', // kafka-consume-bench.ts: raw Fetch consumer (not the limit), records/s
  sqs: './sqs-bench.js', // sqs-bench.ts: the SDK and a load generator
  management: './management-bench.js', // management-bench.ts: API/metrics latency under load, scrape cost
  'transient-paging': './transient-paging-bench.js', // transient-paging-bench.ts: RSS of a deep non-durable queue
  scale: './scale-bench.js', // scale-bench.ts: memory per idle connection and per durable queue
  'scale-all': './scale-all-bench.js', // scale-all-bench.ts: issue 16's scale figures at once, then start-up time
  jobs: './jobs-bench.js', // jobs-bench.ts: piermq/jobs vs plain amqplib and BullMQ on Redis
  shovel: './shovel-bench.js', // shovel-bench.ts: shovel throughput with on-confirm
  tls: './tls-bench.js', // tls-bench.ts: TLS vs plaintext per protocol (amqplib, kcat, the SQS SDK)
  handover: './handover-bench.js', // handover-bench.ts: pier handover rabbitmq, Pier → a real RabbitMQ
  'handover-pier': './handover-pier-bench.js', // handover-pier-bench.ts: pier handover sqs|kafka, Pier → Pier
  'stream-view': './stream-view-bench.js', // stream-view-bench.ts: a Kafka topic as an AMQP stream vs a plain stream
  'sqs-depth': './sqs-depth-bench.js', // sqs-depth-bench.ts: RSS with a deep SQS queue, before and after a restart
};
const [first] = process.argv.slice(2);
// --report / --check / --render: the published report over every workload (suite.ts)
const suiteFlags = ['--report', '--check', '--render'];
const suite = process.argv.slice(2).some((a) => suiteFlags.includes(a));
const workload = first !== undefined ? WORKLOADS[first] : undefined;
if (workload && !suite) process.argv.splice(2, 1);
await import(suite ? './suite.js' : (workload ?? './amqp-bench.js'));
