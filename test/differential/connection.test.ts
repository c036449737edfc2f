// The connection as the client sees it before any operation: server-properties (capabilities) and the
// tune parameters the server proposes.
import { connect } from 'amqplib';
import { DIFFERENCES } from './differences.js';
import { differentialSuite, type Scenario } from './harness.js';
import { type Observation, withSession } from './kit.js';

/**
 * The server-properties fields that name the server rather than describe its behaviour. `product` is
 * compared: both say 'RabbitMQ'. `version` is not: the reference's patch level may move.
 */
const IDENTITY_FIELDS = ['version', 'platform', 'copyright', 'information', 'cluster_name'];

/** amqplib keeps the negotiated values on the connection object. */
interface TunedConnection {
  serverProperties: Observation;
  frameMax: number;
  channelMax: number;
  heartbeat: number;
}

const scenarios: Scenario[] = [
  {
    name: 'server-properties capabilities and the tune parameters the server proposes',
    run: (url) =>
      withSession(url, async (s) => {
        // frameMax and channelMax 0 and no heartbeat preference: the client takes what the server proposes.
        const tuned = new URL(s.url);
        tuned.searchParams.set('frameMax', '0');
        tuned.searchParams.set('channelMax', '0');
        const conn = await connect(tuned.toString());
        const { serverProperties, frameMax, channelMax, heartbeat } =
          conn.connection as unknown as TunedConnection;
        await conn.close();
        return { serverProperties, tune: { frameMax, channelMax, heartbeat } };
      }),
    differences: [
      {
        difference: DIFFERENCES.serverIdentity,
        normalise: (observation) => {
          const properties = { ...(observation.serverProperties as Observation) };
          for (const field of IDENTITY_FIELDS) {
            if (field in properties) properties[field] = '<server identity>';
          }
          delete properties.pier_version;
          return { ...observation, serverProperties: properties };
        },
      },
    ],
  },
];

differentialSuite('connection', scenarios);
