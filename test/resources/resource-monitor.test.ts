import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  formatBytes,
  parseInformationUnit,
  parseMemoryWatermark,
} from '../../src/resources/information-units.js';
import { ResourceMonitor } from '../../src/resources/resource-monitor.js';
import { tempDir } from '../helpers/broker.js';

describe('information units', () => {
  it('parses sizes as rabbitmq.conf does: k/M/G and KiB/MiB/GiB are binary, kB/MB/GB decimal', () => {
    assert.equal(parseInformationUnit('1048576'), 1048576);
    assert.equal(parseInformationUnit('512MiB'), 512 * 1024 ** 2);
    assert.equal(parseInformationUnit('2G'), 2 * 1024 ** 3);
    assert.equal(parseInformationUnit('4k'), 4096);
    assert.equal(parseInformationUnit('50MB'), 50_000_000);
    assert.equal(parseInformationUnit('1gb'), 1_000_000_000);
    for (const bad of ['', 'MB', '1.5GB', '-1', '10 parsecs', '10TB']) {
      assert.equal(parseInformationUnit(bad), undefined, bad);
    }
  });

  it('reads a memory watermark as a fraction or an absolute size', () => {
    assert.deepEqual(parseMemoryWatermark('0.4'), { fraction: 0.4 });
    assert.deepEqual(parseMemoryWatermark('.6'), { fraction: 0.6 });
    assert.deepEqual(parseMemoryWatermark('0'), { fraction: 0 });
    assert.deepEqual(parseMemoryWatermark('1'), { fraction: 1 });
    assert.deepEqual(parseMemoryWatermark('1024MiB'), { bytes: 1024 ** 3 });
    assert.deepEqual(parseMemoryWatermark('2000000000'), { bytes: 2_000_000_000 });
    assert.equal(parseMemoryWatermark('1.5'), undefined);
    assert.equal(parseMemoryWatermark('lots'), undefined);
  });

  it('formats sizes for log lines', () => {
    assert.equal(formatBytes(512), '512 bytes');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(50_000_000), '47.7 MiB');
  });
});

describe('ResourceMonitor', () => {
  function monitor(memory: { used: number }, disk: { free: number | Error }, lines: string[]) {
    return new ResourceMonitor(
      '/data',
      {
        memoryHighWatermark: { fraction: 0.5 },
        totalMemoryBytes: 2000,
        diskFreeLimitBytes: 100,
        memoryUsedBytes: () => memory.used,
        diskFreeBytes: () => {
          if (disk.free instanceof Error) throw disk.free;
          return disk.free;
        },
      },
      (line) => lines.push(line),
    );
  }

  it('raises memory above the watermark and disk below the limit, once each, and clears them', () => {
    const memory = { used: 1000 };
    const disk = { free: 100 };
    const lines: string[] = [];
    const m = monitor(memory, disk, lines);
    let changes = 0;
    m.onChange(() => changes++);
    assert.equal(m.memoryLimitBytes, 1000);
    m.check();
    // At the limits exactly: no alarm (memory must exceed, disk must fall below).
    assert.deepEqual([...m.active], []);
    assert.equal(changes, 0);

    memory.used = 1001;
    m.check();
    m.check();
    assert.deepEqual([...m.active], ['memory']);
    assert.equal(changes, 1);
    assert.match(
      lines.at(-1)!,
      /^memory resource limit alarm set: memory used 1001 bytes is above the high watermark 1000 bytes; .*raise --memory-high-watermark\. Publishers are blocked until it clears\.$/,
    );

    disk.free = 99;
    m.check();
    assert.deepEqual([...m.active].sort(), ['disk', 'memory']);
    assert.equal(changes, 2);
    assert.match(
      lines.at(-1)!,
      /^disk resource limit alarm set: 99 bytes free is below the limit 100 bytes on \/data; .*--disk-free-limit/,
    );

    memory.used = 10;
    m.check();
    assert.match(
      lines.at(-1)!,
      /^memory resource limit alarm cleared: .*Publishers stay blocked \(still raised: disk\)\.$/,
    );
    disk.free = 5000;
    m.check();
    assert.deepEqual([...m.active], []);
    assert.equal(changes, 4);
    assert.match(lines.at(-1)!, /^disk resource limit alarm cleared: .* Publishers are unblocked\.$/);
  });

  it('a failed disk measurement is logged once and leaves the disk alarm as it was', () => {
    const disk: { free: number | Error } = { free: 1 };
    const lines: string[] = [];
    const m = monitor({ used: 0 }, disk, lines);
    m.check();
    assert.deepEqual([...m.active], ['disk']);
    disk.free = new Error('ENOENT: no such file or directory');
    m.check();
    m.check();
    assert.deepEqual([...m.active], ['disk']);
    assert.equal(
      lines.filter((l) => l.startsWith('cannot measure free disk space on /data: ENOENT')).length,
      1,
    );
  });

  it('pages above the paging ratio of the watermark (RabbitMQ vm_memory_high_watermark_paging_ratio)', () => {
    const memory = { used: 0 };
    const paging = (ratio: number | undefined, used: number) => {
      memory.used = used;
      const m = new ResourceMonitor(
        '/data',
        {
          memoryHighWatermark: { bytes: 1000 },
          diskFreeLimitBytes: 0,
          memoryUsedBytes: () => memory.used,
          diskFreeBytes: () => 1,
          ...(ratio === undefined ? {} : { memoryPagingRatio: ratio }),
        },
        () => {},
      );
      m.check();
      return [m.memoryPaging, [...m.active].includes('memory')];
    };
    assert.deepEqual(paging(undefined, 499), [false, false]);
    assert.deepEqual(paging(undefined, 501), [true, false], 'default 0.5 of the watermark');
    assert.deepEqual(paging(0.8, 700), [false, false]);
    assert.deepEqual(paging(0.8, 801), [true, false]);
    assert.deepEqual(paging(1.5, 999), [false, false], 'above 1: never pages before the alarm');
    assert.deepEqual(paging(1.5, 1001)[1], true, 'the alarm still comes at the watermark');
  });

  it('by default measures the process RSS and the data directory filesystem', () => {
    const dir = tempDir();
    try {
      const lines: string[] = [];
      const m = new ResourceMonitor(dir, { memoryHighWatermark: { bytes: 1 }, diskFreeLimitBytes: 0 }, (l) =>
        lines.push(l),
      );
      m.check();
      // Any live process uses more than one byte; free space is never below zero.
      assert.deepEqual([...m.active], ['memory']);
      assert.match(m.describeLimits(), new RegExp(`disk free limit 0 bytes \\(0 bytes\\) on ${dir}`));
      m.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
