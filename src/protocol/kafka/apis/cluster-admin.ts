/**
 * The cluster-level admin APIs tools call at start-up (kafka-ui, kafka_exporter, Kafka's own CLI
 * tools), answered as a one-broker Kafka answers them:
 * - DescribeCluster v0-1: this broker, which is also the controller; only the BROKER endpoint type.
 * - DescribeLogDirs v0-4: one log directory (the data directory) with every partition's size.
 * - ElectLeaders v0-2: every partition already has its only replica as leader, so an election is
 *   never needed (ELECTION_NOT_NEEDED per partition asked for; none listed when all are asked for,
 *   as KRaft's controller leaves those out).
 * (The ACL APIs are in acls.ts.)
 */
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  ResourceType,
  supportedOperationBits,
} from '../../../core/kafka/acls.js';
import type { Topic } from '../../../core/kafka/topic.js';
import type { KafkaCluster } from '../cluster.js';
import type {
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
  DescribeLogDirsResponseDescribeLogDirsTopic,
  ElectLeadersRequest,
  ElectLeadersResponse,
  ElectLeadersResponsePartitionResult,
} from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';

/** DescribeCluster's EndpointType: 1 brokers, 2 controllers. */
const ENDPOINT_TYPE_BROKERS = 1;

/** Without ACLs Kafka reports every operation the CLUSTER resource supports. */
const CLUSTER_OPERATIONS = supportedOperationBits(ResourceType.CLUSTER);

export interface LogDirectory {
  /** The directory's absolute path, as DescribeLogDirs names it. */
  readonly path: string;
  /** Total and usable bytes of its file system; -1 when unknown. */
  space(): { totalBytes: number; usableBytes: number };
}

export interface ClusterAdminServices {
  readonly cluster: KafkaCluster;
  readonly topics: { get(name: string): Topic | undefined; list(): Topic[] };
  readonly logDir: LogDirectory;
}

export function clusterAdminApis({ cluster, topics, logDir }: ClusterAdminServices): KafkaApi[] {
  return [
    {
      apiKey: API_KEYS.DescribeCluster,
      minVersion: 0,
      maxVersion: 1,
      handle(call: KafkaCall<DescribeClusterRequest>): DescribeClusterResponse {
        const endpointType = call.header.apiVersion >= 1 ? call.body.endpointType : ENDPOINT_TYPE_BROKERS;
        const base = {
          throttleTimeMs: 0,
          endpointType,
          clusterId: cluster.clusterId,
          clusterAuthorizedOperations: call.body.includeClusterAuthorizedOperations
            ? CLUSTER_OPERATIONS
            : AUTHORIZED_OPERATIONS_OMITTED,
        };
        if (endpointType !== ENDPOINT_TYPE_BROKERS) {
          return {
            ...base,
            errorCode: KafkaError.UNSUPPORTED_ENDPOINT_TYPE,
            errorMessage: `The broker does not support endpoint type ${endpointType}: ask a broker for brokers (1).`,
            controllerId: -1,
            brokers: [],
          };
        }
        return {
          ...base,
          errorCode: KafkaError.NONE,
          errorMessage: null,
          controllerId: cluster.nodeId,
          brokers: [
            {
              brokerId: cluster.nodeId,
              host: cluster.advertisedHost,
              port: cluster.advertisedPort,
              rack: null,
            },
          ],
        };
      },
    },
    {
      apiKey: API_KEYS.DescribeLogDirs,
      minVersion: 0,
      maxVersion: 4,
      handle(call: KafkaCall<DescribeLogDirsRequest>): DescribeLogDirsResponse {
        const wanted = call.body.topics;
        const described: DescribeLogDirsResponseDescribeLogDirsTopic[] = [];
        const add = (topic: Topic, partitions: readonly number[] | undefined) => {
          const list = (partitions ?? topic.partitions.map((p) => p.index))
            .map((index) => topic.partitions[index])
            .filter((p) => p !== undefined)
            .map((p) => ({
              partitionIndex: p.index,
              partitionSize: BigInt(p.stream.sizeBytes),
              offsetLag: 0n,
              isFutureKey: false,
            }));
          if (list.length > 0) described.push({ name: topic.name, partitions: list });
        };
        if (wanted === null) for (const topic of topics.list()) add(topic, undefined);
        else {
          // Partitions this broker does not host are left out, as Kafka leaves them out.
          for (const { topic, partitions } of wanted) {
            const found = topics.get(topic);
            if (found) add(found, partitions);
          }
        }
        const space = logDir.space();
        return {
          throttleTimeMs: 0,
          errorCode: KafkaError.NONE,
          results: [
            {
              errorCode: KafkaError.NONE,
              logDir: logDir.path,
              topics: described,
              totalBytes: BigInt(space.totalBytes),
              usableBytes: BigInt(space.usableBytes),
            },
          ],
        };
      },
    },
    {
      apiKey: API_KEYS.ElectLeaders,
      minVersion: 0,
      maxVersion: 2,
      handle(call: KafkaCall<ElectLeadersRequest>): ElectLeadersResponse {
        const asked = call.body.topicPartitions;
        return {
          throttleTimeMs: 0,
          errorCode: KafkaError.NONE,
          replicaElectionResults:
            asked === null
              ? []
              : asked.map(({ topic, partitions }) => ({
                  topic,
                  partitionResult: partitions.map((partitionId) =>
                    electionResult(topics.get(topic), topic, partitionId),
                  ),
                })),
        };
      },
    },
  ];
}

function electionResult(
  topic: Topic | undefined,
  topicName: string,
  partitionId: number,
): ElectLeadersResponsePartitionResult {
  if (!topic) {
    return {
      partitionId,
      errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage: `No such topic as ${topicName}`,
    };
  }
  if (topic.partitions[partitionId] === undefined) {
    return {
      partitionId,
      errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage: `No such partition as ${topicName}-${partitionId}`,
    };
  }
  return {
    partitionId,
    errorCode: KafkaError.ELECTION_NOT_NEEDED,
    errorMessage: 'Leader election not needed for topic partition.',
  };
}
