/**
 * The node: process, memory, disk and alarm series, and rabbitmq_identity_info and
 * rabbitmq_build_info, which RabbitMQ's Grafana dashboards join every query on.
 */
import type { ExpositionWriter } from './exposition.js';

/** Measured by the caller (src/composition/metrics.ts reads /proc and the resource monitor). */
export interface NodeMetricsSource {
  /** rabbitmq_node and rabbitmq_cluster labels, e.g. `pier@host`. */
  readonly nodeName: string;
  readonly clusterName: string;
  /** Stable for the data directory: rabbitmq_cluster_permanent_id. */
  readonly clusterPermanentId: string;
  readonly version: string;
  readonly runtimeVersion: string;
  /** Seconds since the broker started. */
  uptimeSeconds(): number;
  process(): { openFds: number | undefined; maxFds: number | undefined; residentMemoryBytes: number };
  resources(): {
    memoryLimitBytes: number;
    diskFreeBytes: number | undefined;
    diskFreeLimitBytes: number;
    memoryAlarm: boolean;
    diskAlarm: boolean;
    /** A store's write is failing for lack of space (ENOSPC, EDQUOT); it is retried. */
    diskWriteFailing?: boolean;
    /** Storage stopped after a failed fdatasync (fail-stop until a restart). */
    storageFailed?: boolean;
  };
}

/** rabbitmq_identity_info and rabbitmq_build_info: every endpoint has them (dashboards join on them). */
export function writeIdentity(out: ExpositionWriter, source: NodeMetricsSource, endpoint: string): void {
  out.single('rabbitmq_identity_info', 'untyped', 'RabbitMQ node & cluster identity info', 1, {
    rabbitmq_node: source.nodeName,
    rabbitmq_cluster: source.clusterName,
    rabbitmq_cluster_permanent_id: source.clusterPermanentId,
    rabbitmq_endpoint: endpoint,
  });
  out.single('rabbitmq_build_info', 'untyped', 'RabbitMQ & Erlang/OTP version info', 1, {
    rabbitmq_version: source.version,
    prometheus_plugin_version: source.version,
    prometheus_client_version: source.version,
    erlang_version: source.runtimeVersion,
    product: 'Pier',
  });
}

export function writeNodeMetrics(out: ExpositionWriter, source: NodeMetricsSource, endpoint: string): void {
  writeIdentity(out, source, endpoint);
  out.single('rabbitmq_erlang_uptime_seconds', 'gauge', 'Node uptime', source.uptimeSeconds());
  const p = source.process();
  if (p.openFds !== undefined)
    out.single('rabbitmq_process_open_fds', 'gauge', 'Open file descriptors', p.openFds);
  if (p.maxFds !== undefined)
    out.single('rabbitmq_process_max_fds', 'gauge', 'Open file descriptors limit', p.maxFds);
  out.single(
    'rabbitmq_process_resident_memory_bytes',
    'gauge',
    'Memory used in bytes',
    p.residentMemoryBytes,
  );
  const r = source.resources();
  out.single(
    'rabbitmq_resident_memory_limit_bytes',
    'gauge',
    'Memory high watermark in bytes',
    r.memoryLimitBytes,
  );
  if (r.diskFreeBytes !== undefined) {
    out.single(
      'rabbitmq_disk_space_available_bytes',
      'gauge',
      'Disk space available in bytes',
      r.diskFreeBytes,
    );
  }
  out.single(
    'rabbitmq_disk_space_available_limit_bytes',
    'gauge',
    'Free disk space low watermark in bytes',
    r.diskFreeLimitBytes,
  );
  out.single(
    'rabbitmq_alarms_memory_used_watermark',
    'gauge',
    'is 1 if VM memory watermark alarm is in effect',
    r.memoryAlarm ? 1 : 0,
  );
  out.single(
    'rabbitmq_alarms_free_disk_space_watermark',
    'gauge',
    'is 1 if free disk space watermark alarm is in effect',
    r.diskAlarm ? 1 : 0,
  );
  out.single(
    'pier_storage_write_failing',
    'gauge',
    'is 1 while writes to the data directory fail for lack of space (ENOSPC); they are retried',
    r.diskWriteFailing ? 1 : 0,
  );
  out.single(
    'pier_storage_failed',
    'gauge',
    'is 1 once storage has stopped after a failed fdatasync; restart the broker',
    r.storageFailed ? 1 : 0,
  );
  out.single(
    'rabbitmq_alarms_file_descriptor_limit',
    'gauge',
    'is 1 if file descriptor limit alarm is in effect',
    0,
  );
}
