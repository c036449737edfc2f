/**
 * The Prometheus exposition on the API port, behind the API's authentication (a monitoring or
 * administrator tag); --prometheus-port serves the same without authentication, as RabbitMQ does.
 */
import type { ManagementContext } from './context.js';
import { RawReply } from './request.js';
import { type Route, route } from './router.js';

const EXPOSITION = 'text/plain; version=0.0.4; charset=utf-8';

const exposition = (perObject: boolean) => (_req: unknown, ctx: ManagementContext) =>
  new RawReply(EXPOSITION, ctx.metrics(perObject));

export const metricsRoutes: readonly Route[] = [
  route('GET', '/metrics', 'monitoring', exposition(false)),
  route('GET', '/metrics/per-object', 'monitoring', exposition(true)),
];
