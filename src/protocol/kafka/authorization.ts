/**
 * Applies Kafka ACLs (core/kafka/acls.ts) to the API table: each handler is wrapped with the checks
 * Kafka's KafkaApis makes for that API. Resources a principal may not use are taken out of the
 * request before the handler sees it and answered with Kafka's error for them
 * (TOPIC/GROUP/CLUSTER/TRANSACTIONAL_ID_AUTHORIZATION_FAILED); topics it may not Describe are left
 * out of Metadata and ListGroups shows only groups it may Describe, as Kafka does.
 *
 * The inner handler is called synchronously (before any await) so that appends keep the client's
 * order, as the connection expects.
 */
import {
  type AclAuthorizer,
  AclOperation,
  ANONYMOUS_PRINCIPAL,
  AUTHORIZED_OPERATIONS_OMITTED,
  CLUSTER_RESOURCE_NAME,
  ResourceType,
} from '../../core/kafka/acls.js';
import { ZERO_UUID } from './apis/topic-errors.js';
import type {
  AddOffsetsToTxnRequest,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  AlterConfigsRequest,
  AlterShareGroupOffsetsRequest,
  AlterShareGroupOffsetsResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  DeleteShareGroupOffsetsRequest,
  DeleteShareGroupOffsetsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribeProducersRequest,
  DescribeProducersResponse,
  DescribeShareGroupOffsetsRequest,
  DescribeShareGroupOffsetsResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  FetchRequest,
  FetchResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  InitProducerIdRequest,
  KafkaField,
  KafkaStruct,
  ListGroupsResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  ListTransactionsResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  ProduceRequest,
  ProduceResponse,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from './codec/index.js';
import { API_KEYS, defaultStruct, RESPONSES } from './codec/index.js';
import { KafkaError } from './error-codes.js';
import {
  type KafkaAnswer,
  type KafkaApi,
  type KafkaCall,
  type KafkaSession,
  NO_RESPONSE,
} from './kafka-api.js';

const { READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE } =
  AclOperation;
const { TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID } = ResourceType;

const DENIED_MESSAGE = 'Authorization failed.';

/** DescribeConfigs/AlterConfigs resource types: 2 a topic, 4 a broker (the Cluster resource). */
const CONFIG_RESOURCE_TOPIC = 2;
/** A share group's configs (resource type 32). */
const CONFIG_RESOURCE_GROUP = 32;

/** The Kafka principal of a connection: its SASL user or certificate principal, else ANONYMOUS. */
export function sessionPrincipal(session: KafkaSession): string {
  return session.principal === undefined ? ANONYMOUS_PRINCIPAL : `User:${session.principal}`;
}

/** The client's IP as ACL hosts name it (an IPv4 client on a dual-stack socket without `::ffff:`). */
export function sessionHost(session: KafkaSession): string {
  const address = session.remoteAddress;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** What the wrappers ask: may this connection do `operation` on the resource? */
export class KafkaAccess {
  constructor(
    readonly authorizer: AclAuthorizer,
    /** Whether Metadata and Produce may create topics (--kafka-auto-create-topics). */
    private readonly autoCreateTopics: boolean,
    private readonly topicExists: (name: string) => boolean,
    /** The name of the topic with this id (Metadata and DeleteTopics may name topics by id). */
    readonly topicNameById: (topicId: string) => string | undefined,
  ) {}

  allows(session: KafkaSession, operation: number, resourceType: number, resourceName: string): boolean {
    return this.authorizer.authorize({
      principal: sessionPrincipal(session),
      host: sessionHost(session),
      operation,
      resourceType,
      resourceName,
    });
  }

  allowsCluster(session: KafkaSession, operation: number): boolean {
    return this.allows(session, operation, CLUSTER, CLUSTER_RESOURCE_NAME);
  }

  /** The operations the connection may do on the resource, as Kafka's authorized-operations bits. */
  authorizedOperations(session: KafkaSession, resourceType: number, resourceName: string): number {
    return this.authorizer.authorizedOperations(
      sessionPrincipal(session),
      sessionHost(session),
      resourceType,
      resourceName,
    );
  }

  allowsAny(session: KafkaSession, operation: number, resourceType: number): boolean {
    return this.authorizer.authorizeAny(
      sessionPrincipal(session),
      sessionHost(session),
      operation,
      resourceType,
    );
  }

  /** Kafka: creating a topic needs CREATE on the cluster or on the topic. */
  mayCreateTopic(session: KafkaSession, name: string): boolean {
    return this.allowsCluster(session, CREATE) || this.allows(session, CREATE, TOPIC, name);
  }

  wouldAutoCreate(name: string): boolean {
    return this.autoCreateTopics && !this.topicExists(name);
  }
}

type Wrapper = (
  call: KafkaCall<never>,
  inner: (call: KafkaCall) => KafkaAnswer | Promise<KafkaAnswer>,
) => KafkaAnswer | Promise<KafkaAnswer>;

/** The same table with every API behind its checks. */
export function authorizeApis(apis: readonly KafkaApi[], access: KafkaAccess): KafkaApi[] {
  const wrappers = apiChecks(access);
  return apis.map((api) => {
    const wrap = wrappers.get(api.apiKey);
    if (!wrap) return api;
    const inner = api.handle.bind(api);
    return { ...api, handle: (call: KafkaCall) => wrap(call as KafkaCall<never>, inner) };
  });
}

/** A response of `apiKey` with every field at its default, for answering a refused request whole. */
function blankResponse(apiKey: number, fields: KafkaStruct): KafkaStruct {
  const schema = RESPONSES.get(apiKey);
  if (!schema) throw new Error(`no response schema for API key ${apiKey}`);
  return { ...defaultStruct(schema.fields), ...fields };
}

/** A blank entry of the nested response array at `path` (field names from the top). */
function blankEntry(apiKey: number, path: readonly string[], fields: KafkaStruct): KafkaStruct {
  let current: readonly KafkaField[] = RESPONSES.get(apiKey)?.fields ?? [];
  for (const name of path) current = current.find((f) => f.name === name)?.fields ?? [];
  return { ...defaultStruct(current), ...fields };
}

/** Splits request entries into those allowed and those refused. */
function split<T>(items: readonly T[], allowed: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (allowed(item) ? yes : no).push(item);
  return [yes, no];
}

/** Runs the inner handler on the allowed part, then adds the refused part's answers. */
function partial<Req, Res>(
  call: KafkaCall<Req>,
  inner: (call: KafkaCall) => KafkaAnswer | Promise<KafkaAnswer>,
  allowedBody: Req | undefined,
  emptyAnswer: () => Res,
  addRefused: (response: Res) => Res,
): KafkaAnswer | Promise<KafkaAnswer> {
  if (allowedBody === undefined) return addRefused(emptyAnswer()) as KafkaStruct;
  const answer = inner({ ...call, body: allowedBody as KafkaStruct });
  const finish = (value: KafkaAnswer) =>
    value === NO_RESPONSE ? value : (addRefused(value as Res) as KafkaStruct);
  return answer instanceof Promise ? answer.then(finish) : finish(answer);
}

/**
 * The shape most checks share: the request's `requestList` split by `allowed`; the handler runs on
 * the allowed entries (not at all when none is), and each refused entry is answered by `refuse` in
 * the response's `responseList`.
 */
function perEntry<Req, Res, Item>(
  call: KafkaCall<Req>,
  inner: (call: KafkaCall) => KafkaAnswer | Promise<KafkaAnswer>,
  spec: {
    readonly requestList: keyof Req & string;
    readonly responseList: keyof Res & string;
    readonly allowed: (item: Item) => boolean;
    readonly empty: () => Res;
    readonly refuse: (item: Item) => unknown;
  },
): KafkaAnswer | Promise<KafkaAnswer> {
  const [allowed, refused] = split(call.body[spec.requestList] as readonly Item[], spec.allowed);
  if (refused.length === 0) return inner(call as KafkaCall);
  return partial<Req, Res>(
    call,
    inner,
    allowed.length > 0 ? { ...call.body, [spec.requestList]: allowed } : undefined,
    spec.empty,
    (response) => ({
      ...response,
      [spec.responseList]: [...(response[spec.responseList] as unknown[]), ...refused.map(spec.refuse)],
    }),
  );
}

/** Applies `finish` to the handler's answer, whether it came at once or later. */
function after<Res>(
  answer: KafkaAnswer | Promise<KafkaAnswer>,
  finish: (response: Res) => Res,
): KafkaAnswer | Promise<KafkaAnswer> {
  const apply = (value: KafkaAnswer) =>
    value === NO_RESPONSE ? value : (finish(value as Res) as KafkaStruct);
  return answer instanceof Promise ? answer.then(apply) : apply(answer);
}

function apiChecks(access: KafkaAccess): Map<number, Wrapper> {
  const checks = new Map<number, Wrapper>();
  const on = <Req>(
    apiKey: number,
    wrapper: (
      call: KafkaCall<Req>,
      inner: (call: KafkaCall) => KafkaAnswer | Promise<KafkaAnswer>,
    ) => KafkaAnswer | Promise<KafkaAnswer>,
  ) => checks.set(apiKey, wrapper as unknown as Wrapper);
  const topicAllowed = (session: KafkaSession, operation: number) => (name: string) =>
    access.allows(session, operation, TOPIC, name);

  // Produce: WRITE on each topic; a transactional producer also needs WRITE on its transactional id.
  on<ProduceRequest>(API_KEYS.Produce, (call, inner) => {
    const { session, body } = call;
    const txnRefused =
      body.transactionalId !== null && !access.allows(session, WRITE, TRANSACTIONAL_ID, body.transactionalId);
    const may = topicAllowed(session, WRITE);
    const [allowed, refused] = txnRefused ? [[], body.topicData] : split(body.topicData, (t) => may(t.name));
    if (refused.length === 0) return inner(call as KafkaCall);
    if (body.acks === 0 && allowed.length === 0) return NO_RESPONSE;
    const errorCode = txnRefused
      ? KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : KafkaError.TOPIC_AUTHORIZATION_FAILED;
    return partial<ProduceRequest, ProduceResponse>(
      call,
      inner,
      allowed.length > 0 ? { ...body, topicData: allowed } : undefined,
      () => blankResponse(API_KEYS.Produce, {}) as ProduceResponse,
      (response) => ({
        ...response,
        responses: [
          ...response.responses,
          ...refused.map((t) => ({
            name: t.name,
            partitionResponses: t.partitionData.map(
              (p) =>
                blankEntry(API_KEYS.Produce, ['responses', 'partitionResponses'], {
                  index: p.index,
                  errorCode,
                  baseOffset: -1n,
                  logAppendTimeMs: -1n,
                  logStartOffset: -1n,
                }) as ProduceResponse['responses'][number]['partitionResponses'][number],
            ),
          })),
        ],
      }),
    );
  });

  // Fetch: READ on each topic (v13+ name topics by id). A fetch session keeps the partitions it was
  // allowed when they were added and does not check them again while it lasts (Kafka does, each fetch).
  on<FetchRequest>(API_KEYS.Fetch, (call, inner) => {
    const may = topicAllowed(call.session, READ);
    const nameOf = (t: { topic: string; topicId: string }) =>
      call.header.apiVersion >= 13 ? (access.topicNameById(t.topicId) ?? '') : t.topic;
    return perEntry<FetchRequest, FetchResponse, FetchRequest['topics'][number]>(call, inner, {
      requestList: 'topics',
      responseList: 'responses',
      allowed: (t) => may(nameOf(t)),
      empty: () => blankResponse(API_KEYS.Fetch, {}) as FetchResponse,
      refuse: (t) => ({
        topic: t.topic,
        topicId: t.topicId,
        partitions: t.partitions.map((p) =>
          blankEntry(API_KEYS.Fetch, ['responses', 'partitions'], {
            partitionIndex: p.partition,
            errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
            highWatermark: -1n,
            lastStableOffset: -1n,
            logStartOffset: -1n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records: null,
            divergingEpoch: { epoch: -1, endOffset: -1n },
            currentLeader: { leaderId: -1, leaderEpoch: -1 },
            snapshotId: { endOffset: -1n, epoch: -1 },
          }),
        ),
      }),
    });
  });

  // ListOffsets: DESCRIBE on each topic.
  on<ListOffsetsRequest>(API_KEYS.ListOffsets, (call, inner) => {
    const may = topicAllowed(call.session, DESCRIBE);
    return perEntry<ListOffsetsRequest, ListOffsetsResponse, ListOffsetsRequest['topics'][number]>(
      call,
      inner,
      {
        requestList: 'topics',
        responseList: 'topics',
        allowed: (t) => may(t.name),
        empty: () => ({ throttleTimeMs: 0, topics: [] }),
        refuse: (t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
            oldStyleOffsets: [],
            timestamp: -1n,
            offset: -1n,
            leaderEpoch: -1,
          })),
        }),
      },
    );
  });

  // Metadata: topics it may not DESCRIBE are left out of "all topics" and refused when named;
  // a topic that would be auto-created needs CREATE. Authorized operations, when asked for, are
  // the principal's (the cluster's only with DESCRIBE on it, else 0), as in Kafka.
  on<MetadataRequest>(API_KEYS.Metadata, (call, inner) => {
    const { session, body } = call;
    const may = topicAllowed(session, DESCRIBE);
    const version = call.header.apiVersion;
    const withOperations = (response: MetadataResponse): MetadataResponse => {
      if (version < 8) return response;
      const clusterAsked = version <= 10 && body.includeClusterAuthorizedOperations;
      return {
        ...response,
        clusterAuthorizedOperations: clusterAsked
          ? access.allowsCluster(session, DESCRIBE)
            ? access.authorizedOperations(session, CLUSTER, CLUSTER_RESOURCE_NAME)
            : 0
          : response.clusterAuthorizedOperations,
        topics: body.includeTopicAuthorizedOperations
          ? response.topics.map((t) =>
              t.name === null || t.topicAuthorizedOperations === AUTHORIZED_OPERATIONS_OMITTED
                ? t
                : { ...t, topicAuthorizedOperations: access.authorizedOperations(session, TOPIC, t.name) },
            )
          : response.topics,
      };
    };
    // Version 0 reads an empty list as "all topics".
    if (body.topics === null || (version === 0 && body.topics.length === 0)) {
      return after<MetadataResponse>(inner(call as KafkaCall), (response) =>
        withOperations({
          ...response,
          topics: response.topics.filter((t) => t.name === null || may(t.name)),
        }),
      );
    }
    const autoCreating = version < 4 || body.allowAutoTopicCreation;
    const [allowed, refused] = split(body.topics, (t) => {
      if (t.name === null) {
        // By id: an unknown id is the handler's UNKNOWN_TOPIC_ID to answer.
        const name = access.topicNameById(t.topicId);
        return name === undefined || may(name);
      }
      if (!may(t.name)) return false;
      return !(autoCreating && access.wouldAutoCreate(t.name)) || access.mayCreateTopic(session, t.name);
    });
    if (refused.length === 0) return after<MetadataResponse>(inner(call as KafkaCall), withOperations);
    // Asked with the allowed topics only (even none: brokers and cluster id are still answered).
    const answer = inner({ ...call, body: { ...body, topics: allowed } as KafkaStruct });
    return after<MetadataResponse>(answer, (response) => {
      const answered = withOperations(response);
      return {
        ...answered,
        topics: [
          // Version 0 reads an empty list as "all topics".
          ...(allowed.length === 0 ? [] : answered.topics),
          ...refused.map(
            (t) =>
              blankEntry(API_KEYS.Metadata, ['topics'], {
                errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
                name: t.name,
                topicId: t.topicId,
                topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
              }) as MetadataResponse['topics'][number],
          ),
        ],
      };
    });
  });

  // OffsetCommit: READ on the group, then READ on each topic.
  on<OffsetCommitRequest>(API_KEYS.OffsetCommit, (call, inner) => {
    const { session, body } = call;
    const groupRefused = !access.allows(session, READ, GROUP, body.groupId);
    const may = topicAllowed(session, READ);
    const [allowed, refused] = groupRefused ? [[], body.topics] : split(body.topics, (t) => may(t.name));
    if (refused.length === 0) return inner(call as KafkaCall);
    const errorCode = groupRefused
      ? KafkaError.GROUP_AUTHORIZATION_FAILED
      : KafkaError.TOPIC_AUTHORIZATION_FAILED;
    return partial<OffsetCommitRequest, OffsetCommitResponse>(
      call,
      inner,
      allowed.length > 0 ? { ...body, topics: allowed } : undefined,
      () => ({ throttleTimeMs: 0, topics: [] }),
      (response) => ({
        ...response,
        topics: [
          ...response.topics,
          ...refused.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
          })),
        ],
      }),
    );
  });

  // OffsetFetch: DESCRIBE on the group; topics it may not DESCRIBE are refused or left out.
  on<OffsetFetchRequest>(API_KEYS.OffsetFetch, (call, inner) => {
    const { session, body } = call;
    const may = topicAllowed(session, DESCRIBE);
    const groupAllowed = (groupId: string) => access.allows(session, DESCRIBE, GROUP, groupId);
    type Topics = OffsetFetchResponse['topics'];
    const filterTopics = (topics: Topics, askedAll: boolean): Topics =>
      askedAll
        ? topics.filter((t) => may(t.name))
        : topics.map((t) =>
            may(t.name)
              ? t
              : {
                  name: t.name,
                  partitions: t.partitions.map((p) => ({
                    ...p,
                    committedOffset: -1n,
                    metadata: null,
                    errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
                  })),
                },
          );
    if (call.header.apiVersion < 8) {
      if (!groupAllowed(body.groupId))
        return blankResponse(API_KEYS.OffsetFetch, { errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED });
      const finish = (answer: KafkaAnswer) => {
        const response = answer as OffsetFetchResponse;
        return { ...response, topics: filterTopics(response.topics, body.topics === null) } as KafkaStruct;
      };
      const answer = inner(call as KafkaCall);
      return answer instanceof Promise ? answer.then(finish) : finish(answer);
    }
    const [allowed, refused] = split(body.groups, (g) => groupAllowed(g.groupId));
    return partial<OffsetFetchRequest, OffsetFetchResponse>(
      call,
      inner,
      allowed.length > 0 ? { ...body, groups: allowed } : undefined,
      () => blankResponse(API_KEYS.OffsetFetch, {}) as OffsetFetchResponse,
      (response) => ({
        ...response,
        groups: [
          ...response.groups.map((g) => {
            const asked = body.groups.find((a) => a.groupId === g.groupId);
            return { ...g, topics: filterTopics(g.topics, asked?.topics === null) };
          }),
          ...refused.map((g) => ({
            groupId: g.groupId,
            topics: [],
            errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED,
          })),
        ],
      }),
    );
  });

  // The group membership APIs: READ on the group.
  const groupMember = (apiKey: number, extra: (body: KafkaStruct) => KafkaStruct) =>
    on<KafkaStruct>(apiKey, (call, inner) =>
      access.allows(call.session, READ, GROUP, call.body.groupId as string)
        ? inner(call)
        : blankResponse(apiKey, { errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED, ...extra(call.body) }),
    );
  groupMember(API_KEYS.JoinGroup, (b) => ({ generationId: -1, memberId: b.memberId, protocolName: null }));
  groupMember(API_KEYS.SyncGroup, () => ({
    protocolType: null,
    protocolName: null,
    assignment: Buffer.alloc(0),
  }));
  groupMember(API_KEYS.Heartbeat, () => ({}));
  // Share groups (KIP-932): READ on the group; fetching and acknowledging also READ on every topic
  // named (Pier refuses the whole request where Kafka answers the refused partitions one by one).
  groupMember(API_KEYS.ShareGroupHeartbeat, () => ({ memberId: null, assignment: null }));
  for (const apiKey of [API_KEYS.ShareFetch, API_KEYS.ShareAcknowledge])
    on<KafkaStruct>(apiKey, (call, inner) => {
      const { session, body } = call;
      const groupId = (body.groupId as string | null) ?? '';
      if (!access.allows(session, READ, GROUP, groupId))
        return blankResponse(apiKey, {
          errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED,
          errorMessage: DENIED_MESSAGE,
        });
      const topicIds = (body.topics as Array<{ topicId: string }>).map((t) => t.topicId);
      const refused = topicIds.some((id) => {
        const name = access.topicNameById(id);
        return name !== undefined && !access.allows(session, READ, TOPIC, name);
      });
      return refused
        ? blankResponse(apiKey, {
            errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
            errorMessage: DENIED_MESSAGE,
          })
        : inner(call);
    });
  on<KafkaStruct>(API_KEYS.ShareGroupDescribe, async (call, inner) => {
    const answer = (await inner(call)) as { groups: Array<{ groupId: string }> };
    return {
      ...answer,
      groups: answer.groups.map((g) =>
        access.allows(call.session, DESCRIBE, GROUP, g.groupId)
          ? g
          : blankEntry(API_KEYS.ShareGroupDescribe, ['groups'], {
              groupId: g.groupId,
              errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED,
              errorMessage: DENIED_MESSAGE,
            }),
      ),
    } as unknown as KafkaStruct;
  });
  groupMember(API_KEYS.LeaveGroup, () => ({}));

  // The share-group offsets APIs, as Kafka 4.1 checks them: Describe needs DESCRIBE on the group and
  // on each topic (with no topics named, those it may not describe are left out); Alter READ on the
  // group and on each topic; Delete DELETE on the group and READ on each topic.
  on<DescribeShareGroupOffsetsRequest>(API_KEYS.DescribeShareGroupOffsets, (call, inner) => {
    const { session } = call;
    const mayDescribe = topicAllowed(session, DESCRIBE);
    const asked = new Map(call.body.groups.map((g) => [g.groupId, g.topics]));
    return after<DescribeShareGroupOffsetsResponse>(inner(call), (response) => ({
      ...response,
      groups: response.groups.map((g) => {
        if (!access.allows(session, DESCRIBE, GROUP, g.groupId))
          return {
            groupId: g.groupId,
            topics: [],
            errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED,
            errorMessage: DENIED_MESSAGE,
          };
        const allTopics = asked.get(g.groupId) === null;
        return {
          ...g,
          topics: g.topics.flatMap((t) => {
            if (mayDescribe(t.topicName)) return [t];
            if (allTopics) return [];
            const partitions = t.partitions.map((p) => ({
              ...p,
              startOffset: -1n,
              errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
              errorMessage: DENIED_MESSAGE,
            }));
            return [{ ...t, partitions }];
          }),
        };
      }),
    }));
  });
  // Alter and Delete: the group operation on the group and READ on each topic. The handler runs even
  // when every topic is refused, so group-level errors (a group with members) still answer.
  const shareOffsetsChange = <
    Req extends { groupId: string; topics: Array<{ topicName: string }> },
    Res extends { responses: unknown[] },
  >(
    apiKey: number,
    groupOperation: number,
    refuse: (topic: Req['topics'][number]) => Res['responses'][number],
  ) =>
    on<Req>(apiKey, (call, inner) => {
      const { session, body } = call;
      if (!access.allows(session, groupOperation, GROUP, body.groupId))
        return blankResponse(apiKey, {
          errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED,
          errorMessage: DENIED_MESSAGE,
        });
      const may = topicAllowed(session, READ);
      const [allowed, refused] = split(body.topics, (t) => may(t.topicName));
      if (refused.length === 0) return inner(call as KafkaCall);
      return partial<Req, Res>(
        call,
        inner,
        { ...body, topics: allowed },
        () => blankResponse(apiKey, {}) as unknown as Res,
        (response) => ({ ...response, responses: [...response.responses, ...refused.map(refuse)] }),
      );
    });
  shareOffsetsChange<AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse>(
    API_KEYS.AlterShareGroupOffsets,
    READ,
    (t) => ({
      topicName: t.topicName,
      topicId: ZERO_UUID,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: DENIED_MESSAGE,
      })),
    }),
  );
  shareOffsetsChange<DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse>(
    API_KEYS.DeleteShareGroupOffsets,
    DELETE,
    (t) => ({
      topicName: t.topicName,
      topicId: ZERO_UUID,
      errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
      errorMessage: DENIED_MESSAGE,
    }),
  );

  // FindCoordinator: DESCRIBE on the group or the transactional id.
  on<FindCoordinatorRequest>(API_KEYS.FindCoordinator, (call, inner) => {
    const { session, body } = call;
    const transactional = body.keyType === 1;
    const keyAllowed = (key: string) =>
      access.allows(session, DESCRIBE, transactional ? TRANSACTIONAL_ID : GROUP, key);
    const errorCode = transactional
      ? KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : KafkaError.GROUP_AUTHORIZATION_FAILED;
    const refusedFields = { errorCode, errorMessage: DENIED_MESSAGE, nodeId: -1, host: '', port: -1 };
    if (call.header.apiVersion < 4)
      return keyAllowed(body.key)
        ? inner(call as KafkaCall)
        : blankResponse(API_KEYS.FindCoordinator, refusedFields);
    const [allowed, refused] = split(body.coordinatorKeys, keyAllowed);
    if (refused.length === 0) return inner(call as KafkaCall);
    return partial<FindCoordinatorRequest, FindCoordinatorResponse>(
      call,
      inner,
      allowed.length > 0 ? { ...body, coordinatorKeys: allowed } : undefined,
      () => blankResponse(API_KEYS.FindCoordinator, {}) as FindCoordinatorResponse,
      (response) => ({
        ...response,
        coordinators: [...response.coordinators, ...refused.map((key) => ({ key, ...refusedFields }))],
      }),
    );
  });

  // DescribeGroups: DESCRIBE on each group; authorized operations (v3+, when asked) are the
  // principal's on each group described without error.
  on<DescribeGroupsRequest>(API_KEYS.DescribeGroups, (call, inner) => {
    const { session, body } = call;
    const operationsAsked = call.header.apiVersion >= 3 && body.includeAuthorizedOperations;
    const [allowed, refused] = split(body.groups, (g) => access.allows(session, DESCRIBE, GROUP, g));
    return partial<DescribeGroupsRequest, DescribeGroupsResponse>(
      call,
      inner,
      allowed.length > 0 ? { ...body, groups: allowed } : undefined,
      () => ({ throttleTimeMs: 0, groups: [] }),
      (response) => ({
        ...response,
        groups: [
          ...response.groups.map((g) =>
            operationsAsked && g.errorCode === KafkaError.NONE
              ? { ...g, authorizedOperations: access.authorizedOperations(session, GROUP, g.groupId) }
              : g,
          ),
          ...refused.map(
            (groupId) =>
              blankEntry(API_KEYS.DescribeGroups, ['groups'], {
                errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED,
                groupId,
                authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
              }) as DescribeGroupsResponse['groups'][number],
          ),
        ],
      }),
    );
  });

  // ListGroups: every group with DESCRIBE on the cluster, else those it may DESCRIBE.
  on<KafkaStruct>(API_KEYS.ListGroups, (call, inner) => {
    if (access.allowsCluster(call.session, DESCRIBE)) return inner(call);
    const finish = (answer: KafkaAnswer) => {
      const response = answer as ListGroupsResponse;
      return {
        ...response,
        groups: response.groups.filter((g) => access.allows(call.session, DESCRIBE, GROUP, g.groupId)),
      } as KafkaStruct;
    };
    const answer = inner(call);
    return answer instanceof Promise ? answer.then(finish) : finish(answer);
  });

  // DeleteGroups: DELETE on each group.
  on<DeleteGroupsRequest>(API_KEYS.DeleteGroups, (call, inner) =>
    perEntry<DeleteGroupsRequest, DeleteGroupsResponse, string>(call, inner, {
      requestList: 'groupsNames',
      responseList: 'results',
      allowed: (g) => access.allows(call.session, DELETE, GROUP, g),
      empty: () => ({ throttleTimeMs: 0, results: [] }),
      refuse: (groupId) => ({ groupId, errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED }),
    }),
  );

  // CreateTopics: CREATE on the cluster or on each topic.
  on<CreateTopicsRequest>(API_KEYS.CreateTopics, (call, inner) =>
    perEntry<CreateTopicsRequest, CreateTopicsResponse, CreateTopicsRequest['topics'][number]>(call, inner, {
      requestList: 'topics',
      responseList: 'topics',
      allowed: (t) => access.mayCreateTopic(call.session, t.name),
      empty: () => ({ throttleTimeMs: 0, topics: [] }),
      refuse: (t) =>
        blankEntry(API_KEYS.CreateTopics, ['topics'], {
          name: t.name,
          errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
          errorMessage: DENIED_MESSAGE,
          numPartitions: -1,
          replicationFactor: -1,
          configs: null,
        }),
    }),
  );

  // DeleteTopics: DELETE on each topic, named or by id (an unknown id is left to the handler).
  on<DeleteTopicsRequest>(API_KEYS.DeleteTopics, (call, inner) => {
    const may = topicAllowed(call.session, DELETE);
    const v6 = call.header.apiVersion >= 6;
    const names = v6 ? [] : call.body.topicNames;
    const [allowedNames, refusedNames] = split(names, may);
    const [allowedStates, refusedStates] = split(call.body.topics, (t) => {
      const name = t.name ?? access.topicNameById(t.topicId);
      return name === undefined || may(name);
    });
    if (refusedNames.length === 0 && refusedStates.length === 0) return inner(call as KafkaCall);
    const anyAllowed = v6 ? allowedStates.length > 0 : allowedNames.length > 0;
    return partial<DeleteTopicsRequest, DeleteTopicsResponse>(
      call,
      inner,
      anyAllowed ? { ...call.body, topicNames: allowedNames, topics: allowedStates } : undefined,
      () => ({ throttleTimeMs: 0, responses: [] }),
      (response) => ({
        ...response,
        responses: [
          ...response.responses,
          ...[...refusedNames.map((name) => ({ name, topicId: '' })), ...refusedStates].map(
            (t) =>
              blankEntry(API_KEYS.DeleteTopics, ['responses'], {
                name: t.name,
                ...(t.topicId ? { topicId: t.topicId } : {}),
                errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
                errorMessage: DENIED_MESSAGE,
              }) as DeleteTopicsResponse['responses'][number],
          ),
        ],
      }),
    );
  });

  // CreatePartitions: ALTER on each topic.
  on<CreatePartitionsRequest>(API_KEYS.CreatePartitions, (call, inner) => {
    const may = topicAllowed(call.session, ALTER);
    return perEntry<
      CreatePartitionsRequest,
      CreatePartitionsResponse,
      CreatePartitionsRequest['topics'][number]
    >(call, inner, {
      requestList: 'topics',
      responseList: 'results',
      allowed: (t) => may(t.name),
      empty: () => ({ throttleTimeMs: 0, results: [] }),
      refuse: (t) => ({
        name: t.name,
        errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: DENIED_MESSAGE,
      }),
    });
  });

  // DeleteRecords: DELETE on each topic.
  on<DeleteRecordsRequest>(API_KEYS.DeleteRecords, (call, inner) => {
    const may = topicAllowed(call.session, DELETE);
    return perEntry<DeleteRecordsRequest, DeleteRecordsResponse, DeleteRecordsRequest['topics'][number]>(
      call,
      inner,
      {
        requestList: 'topics',
        responseList: 'topics',
        allowed: (t) => may(t.name),
        empty: () => ({ throttleTimeMs: 0, topics: [] }),
        refuse: (t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            lowWatermark: -1n,
            errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
          })),
        }),
      },
    );
  });

  // DescribeConfigs / AlterConfigs / IncrementalAlterConfigs: DESCRIBE_CONFIGS or ALTER_CONFIGS on
  // the topic, or on the cluster for a broker.
  const configResourceAllowed =
    (session: KafkaSession, operation: number) => (r: { resourceType: number; resourceName: string }) =>
      r.resourceType === CONFIG_RESOURCE_TOPIC
        ? access.allows(session, operation, TOPIC, r.resourceName)
        : r.resourceType === CONFIG_RESOURCE_GROUP
          ? access.allows(session, operation, GROUP, r.resourceName)
          : access.allowsCluster(session, operation);
  const configError = (resourceType: number) =>
    resourceType === CONFIG_RESOURCE_TOPIC
      ? KafkaError.TOPIC_AUTHORIZATION_FAILED
      : resourceType === CONFIG_RESOURCE_GROUP
        ? KafkaError.GROUP_AUTHORIZATION_FAILED
        : KafkaError.CLUSTER_AUTHORIZATION_FAILED;
  type ConfigResource = { resourceType: number; resourceName: string };
  on<DescribeConfigsRequest>(API_KEYS.DescribeConfigs, (call, inner) =>
    perEntry<DescribeConfigsRequest, DescribeConfigsResponse, ConfigResource>(call, inner, {
      requestList: 'resources',
      responseList: 'results',
      allowed: configResourceAllowed(call.session, DESCRIBE_CONFIGS),
      empty: () => ({ throttleTimeMs: 0, results: [] }),
      refuse: (r) => ({
        errorCode: configError(r.resourceType),
        errorMessage: DENIED_MESSAGE,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
      }),
    }),
  );
  for (const apiKey of [API_KEYS.AlterConfigs, API_KEYS.IncrementalAlterConfigs]) {
    type Response = { throttleTimeMs: number; responses: KafkaStruct[] };
    on<AlterConfigsRequest>(apiKey, (call, inner) =>
      perEntry<AlterConfigsRequest, Response, ConfigResource>(call, inner, {
        requestList: 'resources',
        responseList: 'responses',
        allowed: configResourceAllowed(call.session, ALTER_CONFIGS),
        empty: () => ({ throttleTimeMs: 0, responses: [] }),
        refuse: (r) => ({
          errorCode: configError(r.resourceType),
          errorMessage: DENIED_MESSAGE,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        }),
      }),
    );
  }

  // InitProducerId: WRITE on the transactional id; an idempotent producer needs IDEMPOTENT_WRITE
  // on the cluster or WRITE on some topic.
  on<InitProducerIdRequest>(API_KEYS.InitProducerId, (call, inner) => {
    const { session, body } = call;
    if (body.transactionalId !== null) {
      return access.allows(session, WRITE, TRANSACTIONAL_ID, body.transactionalId)
        ? inner(call as KafkaCall)
        : blankResponse(API_KEYS.InitProducerId, {
            errorCode: KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            producerId: -1n,
            producerEpoch: -1,
          });
    }
    return access.allowsCluster(session, IDEMPOTENT_WRITE) || access.allowsAny(session, WRITE, TOPIC)
      ? inner(call as KafkaCall)
      : blankResponse(API_KEYS.InitProducerId, {
          errorCode: KafkaError.CLUSTER_AUTHORIZATION_FAILED,
          producerId: -1n,
          producerEpoch: -1,
        });
  });

  // AddPartitionsToTxn (v0-3): WRITE on the transactional id, then WRITE on each topic.
  on<AddPartitionsToTxnRequest>(API_KEYS.AddPartitionsToTxn, (call, inner) => {
    const { session, body } = call;
    const txnRefused = !access.allows(session, WRITE, TRANSACTIONAL_ID, body.v3AndBelowTransactionalId);
    const may = topicAllowed(session, WRITE);
    const refusedTopics = txnRefused
      ? body.v3AndBelowTopics
      : body.v3AndBelowTopics.filter((t) => !may(t.name));
    if (refusedTopics.length === 0) return inner(call as KafkaCall);
    // Kafka refuses the whole request: the refused partitions with the error, the rest not attempted.
    const result: AddPartitionsToTxnResponse = {
      throttleTimeMs: 0,
      errorCode: KafkaError.NONE,
      resultsByTransaction: [],
      resultsByTopicV3AndBelow: body.v3AndBelowTopics.map((t) => {
        const refused = txnRefused || !may(t.name);
        const partitionErrorCode = txnRefused
          ? KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
          : refused
            ? KafkaError.TOPIC_AUTHORIZATION_FAILED
            : KafkaError.OPERATION_NOT_ATTEMPTED;
        return {
          name: t.name,
          resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode })),
        };
      }),
    };
    return result as KafkaStruct;
  });

  // AddOffsetsToTxn: WRITE on the transactional id, READ on the group.
  on<AddOffsetsToTxnRequest>(API_KEYS.AddOffsetsToTxn, (call, inner) => {
    const { session, body } = call;
    if (!access.allows(session, WRITE, TRANSACTIONAL_ID, body.transactionalId))
      return { throttleTimeMs: 0, errorCode: KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (!access.allows(session, READ, GROUP, body.groupId))
      return { throttleTimeMs: 0, errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED };
    return inner(call as KafkaCall);
  });

  // EndTxn: WRITE on the transactional id.
  on<KafkaStruct>(API_KEYS.EndTxn, (call, inner) =>
    access.allows(call.session, WRITE, TRANSACTIONAL_ID, call.body.transactionalId as string)
      ? inner(call)
      : blankResponse(API_KEYS.EndTxn, {
          errorCode: KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          producerId: -1n,
          producerEpoch: -1,
        }),
  );

  // TxnOffsetCommit: WRITE on the transactional id, READ on the group, READ on each topic.
  on<TxnOffsetCommitRequest>(API_KEYS.TxnOffsetCommit, (call, inner) => {
    const { session, body } = call;
    const whole = !access.allows(session, WRITE, TRANSACTIONAL_ID, body.transactionalId)
      ? KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : !access.allows(session, READ, GROUP, body.groupId)
        ? KafkaError.GROUP_AUTHORIZATION_FAILED
        : undefined;
    const may = topicAllowed(session, READ);
    const [allowed, refused] =
      whole !== undefined ? [[], body.topics] : split(body.topics, (t) => may(t.name));
    if (refused.length === 0) return inner(call as KafkaCall);
    const errorCode = whole ?? KafkaError.TOPIC_AUTHORIZATION_FAILED;
    return partial<TxnOffsetCommitRequest, TxnOffsetCommitResponse>(
      call,
      inner,
      allowed.length > 0 ? { ...body, topics: allowed } : undefined,
      () => ({ throttleTimeMs: 0, topics: [] }),
      (response) => ({
        ...response,
        topics: [
          ...response.topics,
          ...refused.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
          })),
        ],
      }),
    );
  });

  // OffsetDelete: DELETE on the group, READ on each topic.
  on<OffsetDeleteRequest>(API_KEYS.OffsetDelete, (call, inner) => {
    const { session, body } = call;
    if (!access.allows(session, DELETE, GROUP, body.groupId))
      return { errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    const may = topicAllowed(session, READ);
    const [allowed, refused] = split(body.topics, (t) => may(t.name));
    if (refused.length === 0) return inner(call as KafkaCall);
    return partial<OffsetDeleteRequest, OffsetDeleteResponse>(
      call,
      inner,
      allowed.length > 0 ? { ...body, topics: allowed } : undefined,
      () => ({ errorCode: KafkaError.NONE, throttleTimeMs: 0, topics: [] }),
      (response) => ({
        ...response,
        topics: [
          ...response.topics,
          ...refused.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
            })),
          })),
        ],
      }),
    );
  });

  // DescribeProducers: READ on each topic.
  on<DescribeProducersRequest>(API_KEYS.DescribeProducers, (call, inner) => {
    const may = topicAllowed(call.session, READ);
    return perEntry<
      DescribeProducersRequest,
      DescribeProducersResponse,
      DescribeProducersRequest['topics'][number]
    >(call, inner, {
      requestList: 'topics',
      responseList: 'topics',
      allowed: (t) => may(t.name),
      empty: () => ({ throttleTimeMs: 0, topics: [] }),
      refuse: (t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
          errorMessage: DENIED_MESSAGE,
          activeProducers: [],
        })),
      }),
    });
  });

  // DescribeTransactions: DESCRIBE on each transactional id.
  on<DescribeTransactionsRequest>(API_KEYS.DescribeTransactions, (call, inner) =>
    perEntry<DescribeTransactionsRequest, DescribeTransactionsResponse, string>(call, inner, {
      requestList: 'transactionalIds',
      responseList: 'transactionStates',
      allowed: (id) => access.allows(call.session, DESCRIBE, TRANSACTIONAL_ID, id),
      empty: () => ({ throttleTimeMs: 0, transactionStates: [] }),
      refuse: (transactionalId) =>
        blankEntry(API_KEYS.DescribeTransactions, ['transactionStates'], {
          errorCode: KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          transactionalId,
          producerId: -1n,
          producerEpoch: -1,
          transactionTimeoutMs: -1,
          transactionStartTimeMs: -1n,
        }),
    }),
  );

  // Cluster-wide APIs: DESCRIBE or ALTER on the cluster, refused whole.
  const clusterWide = (apiKey: number, operation: number) =>
    on<KafkaStruct>(apiKey, (call, inner) =>
      access.allowsCluster(call.session, operation)
        ? inner(call)
        : blankResponse(apiKey, {
            errorCode: KafkaError.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: DENIED_MESSAGE,
          }),
    );
  clusterWide(API_KEYS.DescribeLogDirs, DESCRIBE);
  clusterWide(API_KEYS.ElectLeaders, ALTER);
  clusterWide(API_KEYS.DescribeAcls, DESCRIBE);

  // DescribeCluster: answered to every principal, as Kafka does; the cluster's authorized
  // operations (when asked) are the principal's with DESCRIBE on the cluster, else 0.
  on<DescribeClusterRequest>(API_KEYS.DescribeCluster, (call, inner) => {
    const { session, body } = call;
    if (!body.includeClusterAuthorizedOperations) return inner(call as KafkaCall);
    const operations = access.allowsCluster(session, DESCRIBE)
      ? access.authorizedOperations(session, CLUSTER, CLUSTER_RESOURCE_NAME)
      : 0;
    return after(inner(call as KafkaCall), (response: DescribeClusterResponse) =>
      response.errorCode === KafkaError.NONE
        ? { ...response, clusterAuthorizedOperations: operations }
        : response,
    );
  });

  // ListTransactions: only the transactional ids the principal may DESCRIBE, as Kafka filters them.
  on<KafkaStruct>(API_KEYS.ListTransactions, (call, inner) =>
    after(inner(call), (response: ListTransactionsResponse) => ({
      ...response,
      transactionStates: response.transactionStates.filter((t) =>
        access.allows(call.session, DESCRIBE, TRANSACTIONAL_ID, t.transactionalId),
      ),
    })),
  );

  // CreateAcls / DeleteAcls: ALTER on the cluster, every entry refused.
  on<KafkaStruct>(API_KEYS.CreateAcls, (call, inner) =>
    access.allowsCluster(call.session, ALTER)
      ? inner(call)
      : {
          throttleTimeMs: 0,
          results: (call.body.creations as unknown[]).map(() => ({
            errorCode: KafkaError.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: DENIED_MESSAGE,
          })),
        },
  );
  on<KafkaStruct>(API_KEYS.DeleteAcls, (call, inner) =>
    access.allowsCluster(call.session, ALTER)
      ? inner(call)
      : {
          throttleTimeMs: 0,
          filterResults: (call.body.filters as unknown[]).map(() => ({
            errorCode: KafkaError.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: DENIED_MESSAGE,
            matchingAcls: [],
          })),
        },
  );
  return checks;
}
