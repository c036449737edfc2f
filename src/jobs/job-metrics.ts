/**
 * Metrics hooks and an optional tracer for workers. Both are plain callbacks typed structurally, so
 * the library needs no metrics or OpenTelemetry dependency: pass functions that feed your
 * prom-client counters and histograms, and (when the app has @opentelemetry/api) `trace.getTracer(...)`
 * as `tracer`, which fits `JobTracer` as it is. A hook that throws is ignored (reported as 'error').
 */

/** What each hook gets about one attempt. */
export interface JobMetricEvent {
  readonly queue: string;
  readonly jobId: string;
  readonly name: string;
  readonly attempt: number;
  /** completed, failed: how long the handler ran. */
  readonly durationMs?: number;
  /** retried: the wait before the next attempt. */
  readonly delayMs?: number;
  /** failed, dead-lettered, lost: the error's message. */
  readonly error?: string;
  /** dead-lettered: 'attempts-exhausted', 'invalid-payload', 'backoff-failed'. */
  readonly reason?: string;
}

export interface JobMetrics {
  /** The handler returned (counter). */
  completed?(event: JobMetricEvent): void;
  /** The handler threw or timed out (counter). */
  failed?(event: JobMetricEvent): void;
  /** A failed or lost attempt was scheduled again (counter). */
  retried?(event: JobMetricEvent): void;
  /** The job went to the dead-letter queue (counter). */
  deadLettered?(event: JobMetricEvent): void;
  /** An attempt was lost with its worker: crash, lost connection, consumer timeout (counter). */
  lost?(event: JobMetricEvent): void;
  /** Every finished attempt's run time, with its outcome (histogram). */
  duration?(event: JobMetricEvent & { readonly outcome: 'completed' | 'failed' }): void;
}

/** The part of OpenTelemetry's Span the worker uses. */
export interface JobSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  recordException(exception: Error | string): unknown;
  /** OpenTelemetry's SpanStatusCode: 1 OK, 2 ERROR. */
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/** The part of OpenTelemetry's Tracer the worker uses: one span per attempt, kind CONSUMER (5). */
export interface JobTracer {
  startSpan(name: string, options?: { kind?: number; attributes?: Record<string, string | number> }): JobSpan;
}

/** Calls one hook, never letting it break the worker. */
export function callHook<E>(
  hook: ((event: E) => void) | undefined,
  event: E,
  onError: (error: unknown) => void,
): void {
  if (!hook) return;
  try {
    hook(event);
  } catch (error) {
    onError(error);
  }
}
