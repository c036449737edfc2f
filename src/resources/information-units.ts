/**
 * Sizes written as RabbitMQ writes them in rabbitmq.conf: a byte count, or a number with a unit.
 * k/K/KiB, M/MiB, G/GiB are powers of 1024; kB/KB, MB, GB are powers of 1000.
 */
const MULTIPLIERS: Record<string, number> = {
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
};

/** Parses `1048576`, `512MiB`, `50MB`, `2G`; returns undefined for anything else. */
export function parseInformationUnit(text: string): number | undefined {
  const match = /^(\d+)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  if (match[2] === '') return value;
  const multiplier = MULTIPLIERS[match[2]!.toLowerCase()];
  return multiplier === undefined ? undefined : value * multiplier;
}

/**
 * The shortest exact way to write `bytes` that parseInformationUnit reads back: `50MB`, `8MiB`,
 * `4097` (for defaults shown in help and docs).
 */
export function formatInformationUnit(bytes: number): string {
  let best = String(bytes);
  for (const unit of ['KiB', 'MiB', 'GiB', 'kB', 'MB', 'GB']) {
    const multiplier = MULTIPLIERS[unit.toLowerCase()]!;
    if (bytes === 0 || bytes % multiplier !== 0) continue;
    const written = `${bytes / multiplier}${unit}`;
    if (written.length < best.length) best = written;
  }
  return best;
}

/** A memory high watermark: a fraction of total memory, or an absolute size. */
export type MemoryWatermark = { readonly fraction: number } | { readonly bytes: number };

/**
 * `0.4` (a fraction of total memory, as vm_memory_high_watermark.relative) or `512MiB` / a byte
 * count (as vm_memory_high_watermark.absolute). A plain `0` or `1` is a fraction.
 */
export function parseMemoryWatermark(text: string): MemoryWatermark | undefined {
  const trimmed = text.trim();
  if (/^(\d*\.\d+|0|1)$/.test(trimmed)) {
    const fraction = Number(trimmed);
    return fraction <= 1 ? { fraction } : undefined;
  }
  const bytes = parseInformationUnit(trimmed);
  return bytes === undefined ? undefined : { bytes };
}

/** `1536` → `1.5 KiB`: for log lines. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
