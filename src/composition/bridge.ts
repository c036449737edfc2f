/**
 * Composes the bridges (src/bridge): the shovel definition check on `shovel` runtime parameters,
 * and the shovel manager, started once the listeners are bound (a local endpoint connects to this
 * Pier's own listener over loopback) and told of every parameter change (API, CLI, definitions).
 */
import { parseShovelDefinition, ShovelDefinitionError } from '../bridge/shovel-definition.js';
import { ShovelManager } from '../bridge/shovel-manager.js';
import { preconditionFailed } from '../core/amqp/errors.js';
import { clearParameter, SHOVEL_COMPONENT } from '../core/amqp/runtime-parameters.js';
import type { BrokerCore } from '../core/broker-core.js';
import type { BoundAddress } from './listener.js';
import { formatHost } from './listener.js';
import type { SqsAccessKey } from './sqs.js';

export interface BridgeCompositionInput {
  readonly core: BrokerCore;
  readonly log: (line: string) => void;
}

export interface BoundListeners {
  readonly amqp: BoundAddress | undefined;
  readonly kafka: BoundAddress | undefined;
  readonly sqs: (BoundAddress & { endpoint: string }) | undefined;
  readonly sqsRegion: string;
  readonly sqsAccessKeys: readonly SqsAccessKey[];
}

export interface BridgeParts {
  /** Starts every defined shovel and follows parameter changes. */
  start(listeners: BoundListeners): void;
  readonly manager: () => ShovelManager | undefined;
  close(): Promise<void>;
}

/** A wildcard bind is reached on loopback. */
const loopbackFor = (host: string) =>
  host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;

export function composeBridges(input: BridgeCompositionInput): BridgeParts {
  const { core, log } = input;
  core.parameters.validators.set(SHOVEL_COMPONENT, (vhost, name, value) => {
    try {
      parseShovelDefinition(vhost, name, value);
    } catch (error) {
      if (error instanceof ShovelDefinitionError)
        throw preconditionFailed(`shovel '${name}': ${error.message}`);
      throw error;
    }
    return value;
  });
  let manager: ShovelManager | undefined;
  let unwatch: (() => void) | undefined;
  return {
    start(listeners) {
      const key = listeners.sqsAccessKeys[0];
      manager = new ShovelManager(
        {
          amqpUrl: (vhost, user = 'guest', password = 'guest') =>
            listeners.amqp
              ? `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${formatHost(loopbackFor(listeners.amqp.host))}:${listeners.amqp.port}/${encodeURIComponent(vhost)}`
              : undefined,
          kafkaBootstrap: listeners.kafka
            ? `${formatHost(loopbackFor(listeners.kafka.host))}:${listeners.kafka.port}`
            : undefined,
          sqs: listeners.sqs
            ? {
                endpoint: `http://${formatHost(loopbackFor(listeners.sqs.host))}:${listeners.sqs.port}`,
                region: listeners.sqsRegion,
                accessKeyId: key?.accessKeyId ?? 'pier-shovel',
                secretAccessKey: key?.secretAccessKey ?? 'pier-shovel',
              }
            : undefined,
        },
        log,
        (vhost, name) => {
          try {
            clearParameter(core, SHOVEL_COMPONENT, vhost, name);
          } catch {
            // Already removed by someone else.
          }
        },
      );
      const running = manager;
      unwatch = core.parameters.watch((component, vhost, name, value) => {
        if (component === SHOVEL_COMPONENT) void running.apply(vhost, name, value);
      });
      for (const p of core.parameters.list({ component: SHOVEL_COMPONENT })) {
        void running
          .apply(p.vhost, p.name, p.value)
          .catch((error: Error) =>
            log(`shovel '${p.name}' in vhost '${p.vhost}' not started: ${error.message}`),
          );
      }
    },
    manager: () => manager,
    async close() {
      unwatch?.();
      await manager?.close();
    },
  };
}
