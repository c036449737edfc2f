// A fixed report for the renderer and --check tests: two AMQP workloads side by side with RabbitMQ,
// one Kafka figure without a baseline, one SQS figure against the stub, memory figures.
import type { BenchReport } from '../../bench/suite-model.js';

export function fixtureReport(): BenchReport {
  return {
    schema: 1,
    createdAt: '2026-12-06T12:00:00.000Z',
    quick: true,
    only: [],
    conditions: {
      machine: { cpu: 'Test CPU', cores: 2, ramGiB: 4, node: 'v20.0.0', os: 'Linux test x64' },
      loadAverageStart: [0.5, 0.4, 0.3],
      loadAverageEnd: [0.6, 0.5, 0.4],
      durationS: 2,
      warmupS: 0.5,
      fsync: 'always',
      rabbitmq: 'RabbitMQ 3.10.8',
      elapsedS: 600,
      notes: ['a note'],
    },
    workloads: [
      {
        id: 'amqp.1to1.raw.transient.16B',
        group: 'amqp',
        title: '1 → 1, raw, transient, 16 B',
        unit: 'msgs/s',
        baseline: 'RabbitMQ',
        results: {
          Pier: {
            rate: 200_000,
            p50Ms: 20,
            p99Ms: 40,
            latency: [
              {
                fraction: 0.25,
                targetRate: 50_000,
                achievedRate: 50_000,
                p50Ms: 0.5,
                p90Ms: 0.8,
                p99Ms: 1.5,
                maxMs: 3,
              },
              {
                fraction: 0.5,
                targetRate: 100_000,
                achievedRate: 99_000,
                p50Ms: 0.6,
                p90Ms: 1,
                p99Ms: 2,
                maxMs: 5,
              },
              {
                fraction: 0.9,
                targetRate: 180_000,
                achievedRate: 170_000,
                p50Ms: 1,
                p90Ms: 3,
                p99Ms: 9,
                maxMs: 20,
              },
            ],
          },
          RabbitMQ: {
            rate: 50_000,
            p50Ms: 80,
            p99Ms: 160,
            latency: [
              {
                fraction: 0.5,
                targetRate: 25_000,
                achievedRate: 25_000,
                p50Ms: 1,
                p90Ms: 2,
                p99Ms: 4,
                maxMs: 8,
              },
            ],
          },
        },
      },
      {
        id: 'amqp.1to1.raw.persistent.16B',
        group: 'amqp',
        title: '1 → 1, raw, persistent, 16 B',
        unit: 'msgs/s',
        baseline: 'RabbitMQ',
        results: {
          Pier: { rate: 100_000 },
          RabbitMQ: { rate: null, error: 'connection reset\nmore detail' },
        },
      },
      {
        id: 'kafka.produce.1partition.100B',
        group: 'kafka',
        title: 'kcat produce (acks=all), 1 partition, 100 B',
        unit: 'records/s',
        baseline: null,
        results: { Pier: { rate: 1_000_000 } },
      },
      {
        id: 'sqs.standard.load.64',
        group: 'sqs',
        title: 'standard queues, own generator, 64 workers, 100 B',
        unit: 'msgs/s',
        baseline: 'stub',
        results: { Pier: { rate: 25_000 }, stub: { rate: 50_000 } },
      },
    ],
    memory: [
      {
        id: 'memory.connection.idle',
        title: 'per idle connection with one channel (1,000 opened)',
        unit: 'bytes',
        results: { Pier: 30_000, RabbitMQ: 100_000 },
      },
    ],
  };
}
