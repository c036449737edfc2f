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

/** Calls one metrics hook, if set; a hook that throws is handed to `onError` and otherwise ignored. */
export function callMetricHook<K extends keyof JobMetrics>(
  metrics: JobMetrics | undefined,
  kind: K,
  event: Parameters<NonNullable<JobMetrics[K]>>[0],
  onError: (error: unknown) => void,
): void {
  const hook = metrics?.[kind] as ((e: typeof event) => void) | undefined;
  if (!hook) return;
  try {
    hook.call(metrics, event);
  } catch (error) {
    onError(error);
  }
}

/** The part of OpenTelemetry's Span the worker uses. */
export interface JobSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  recordException(exception: Error | string): unknown;
  /** OpenTelemetry's SpanStatusCode: 1 OK, 2 ERROR. */
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/**
 * The part of OpenTelemetry's Tracer the worker uses: one span per attempt, kind CONSUMER (5); the
 * third argument is what the worker's `extractTraceContext` returned (the producer's context).
 */
export interface JobTracer {
  startSpan(
    name: string,
    options?: { kind?: number; attributes?: Record<string, string | number> },
    context?: unknown,
  ): JobSpan;
}

/**
 * Trace context through the message (W3C `traceparent`/`tracestate`, or whatever the app's
 * propagator writes): a Queue's `injectTraceContext` fills a carrier when a job is added, e.g.
 * `(carrier) => propagation.inject(context.active(), carrier)`, and its keys travel as AMQP headers
 * or SQS message attributes. A Worker's `extractTraceContext`, e.g.
 * `(carrier) => propagation.extract(ROOT_CONTEXT, carrier)`, turns them back into the context its
 * attempt spans are children of. Plain functions, so the library needs no OpenTelemetry dependency.
 */
export type TraceContextInjector = (carrier: Record<string, string>) => void;
export type TraceContextExtractor = (carrier: Readonly<Record<string, string>>) => unknown;

/**
 * The carrier `inject` fills, without keys that would clash with the library's own (`x-`
 * headers) or that SQS refuses as attribute names; undefined when empty or when `inject` throws
 * (tracing must never stop an add).
 */
export function injectedTraceContext(
  inject: TraceContextInjector | undefined,
): Record<string, string> | undefined {
  if (!inject) return undefined;
  const carrier: Record<string, string> = {};
  try {
    inject(carrier);
  } catch {
    return undefined;
  }
  const kept = Object.entries(carrier).filter(
    ([key, value]) =>
      typeof value === 'string' &&
      /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,255}$/.test(key) &&
      !/^(x-|aws\.|amazon\.)/i.test(key),
  );
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
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
