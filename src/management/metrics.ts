/**
 * The Prometheus exposition on the API port, behind the API's authentication (a monitoring or
 * administrator tag); --prometheus-port serves the same without authentication, as RabbitMQ does.
 */

import { METRICS_ENDPOINTS, type MetricsEndpoint } from '../metrics/render.js';
import type { ManagementContext } from './context.js';
import { type ApiRequest, RawReply } from './request.js';
import { type Route, route } from './router.js';

const EXPOSITION = 'text/plain; version=0.0.4; charset=utf-8';

const exposition = (endpoint: MetricsEndpoint) => async (req: ApiRequest, ctx: ManagementContext) =>
  new RawReply(EXPOSITION, await ctx.metrics(endpoint, req.query));

export const metricsRoutes: readonly Route[] = METRICS_ENDPOINTS.map((endpoint) =>
  route('GET', endpoint, 'monitoring', exposition(endpoint)),
);
