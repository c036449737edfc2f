/** Every route of the management API, one resource group per file. */
import { bindingRoutes } from './bindings.js';
import { connectionRoutes } from './connections.js';
import { definitionRoutes } from './definitions.js';
import { exchangeRoutes } from './exchanges.js';
import { healthRoutes } from './health.js';
import { kafkaRoutes } from './kafka.js';
import { metricsRoutes } from './metrics.js';
import { moveRoutes } from './move.js';
import { overviewRoutes } from './overview.js';
import { parameterRoutes } from './parameters.js';
import { permissionRoutes } from './permissions.js';
import { policyRoutes } from './policies.js';
import { queueRoutes } from './queues.js';
import { Router } from './router.js';
import { shovelRoutes } from './shovels.js';
import { sqsRoutes } from './sqs.js';
import { userRoutes } from './users.js';
import { vhostRoutes } from './vhosts.js';

export function managementRouter(): Router {
  return new Router([
    ...overviewRoutes,
    ...vhostRoutes,
    ...userRoutes,
    ...permissionRoutes,
    ...policyRoutes,
    ...parameterRoutes,
    ...exchangeRoutes,
    ...queueRoutes,
    ...moveRoutes,
    ...bindingRoutes,
    ...connectionRoutes,
    ...healthRoutes,
    ...definitionRoutes,
    ...metricsRoutes,
    ...kafkaRoutes,
    ...sqsRoutes,
    ...shovelRoutes,
  ]);
}
