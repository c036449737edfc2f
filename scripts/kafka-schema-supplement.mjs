// Kafka 4.1 message definitions that the vendored schemas (spec/kafka, a 4.0 snapshot) lack, written
// by hand for Pier in the generator's field form; read by scripts/gen-kafka-schemas.mjs, no network.
//
// Source: KIP-932 (share groups) as Kafka 4.1 ships it — the messages ShareGroupHeartbeat,
// ShareGroupDescribe, ShareFetch, ShareAcknowledge (version 1, the first stable one; 4.0 spoke the
// early-access version 0, which Pier keeps answering), DescribeShareGroupOffsets (API key 90),
// AlterShareGroupOffsets (91) and DeleteShareGroupOffsets (92), all at version 0 in Kafka 4.1.
//
// What version 1 changed: ShareFetch requests carry MaxRecords and BatchSize and drop the per-partition
// PartitionMaxBytes (every partition named is fetched); ShareFetch responses carry the group's
// AcquisitionLockTimeoutMs; the other three messages keep their fields (ShareGroupHeartbeat v1's
// member id is chosen by the client, a semantic change only).

/** A field: `versions` and `nullable` are Kafka's range strings ("1+", "0", "0-3"). */
function field(name, type, versions, more = {}) {
  const f = { name, type, versions };
  if (more.nullable) f.nullableVersions = more.nullable;
  if (more.default !== undefined) f.default = more.default;
  if (more.fields) f.fields = more.fields;
  return f;
}

const throttle = field('ThrottleTimeMs', 'int32', '0+');
const errorCode = field('ErrorCode', 'int16', '0+');
const errorMessage = field('ErrorMessage', 'string', '0+', { nullable: '0+', default: 'null' });
const topicName = field('TopicName', 'string', '0+');
const topicId = field('TopicId', 'uuid', '0+');
const partitionIndex = field('PartitionIndex', 'int32', '0+');

function message(name, apiKey, fields) {
  return {
    apiKey,
    type: name.endsWith('Request') ? 'request' : 'response',
    name,
    validVersions: '0',
    flexibleVersions: '0+',
    fields,
  };
}

/** Whole messages Kafka 4.1 added, by file name. */
export const MESSAGES = {
  // Start offsets of a group's share-partitions; Topics null asks for every one with state.
  DescribeShareGroupOffsetsRequest: message('DescribeShareGroupOffsetsRequest', 90, [
    field('Groups', '[]DescribeShareGroupOffsetsRequestGroup', '0+', {
      fields: [
        field('GroupId', 'string', '0+'),
        field('Topics', '[]DescribeShareGroupOffsetsRequestTopic', '0+', {
          nullable: '0+',
          fields: [topicName, field('Partitions', '[]int32', '0+')],
        }),
      ],
    }),
  ]),
  DescribeShareGroupOffsetsResponse: message('DescribeShareGroupOffsetsResponse', 90, [
    throttle,
    field('Groups', '[]DescribeShareGroupOffsetsResponseGroup', '0+', {
      fields: [
        field('GroupId', 'string', '0+'),
        field('Topics', '[]DescribeShareGroupOffsetsResponseTopic', '0+', {
          fields: [
            topicName,
            topicId,
            field('Partitions', '[]DescribeShareGroupOffsetsResponsePartition', '0+', {
              fields: [
                partitionIndex,
                field('StartOffset', 'int64', '0+'),
                field('LeaderEpoch', 'int32', '0+'),
                errorCode,
                errorMessage,
              ],
            }),
          ],
        }),
        errorCode,
        errorMessage,
      ],
    }),
  ]),
  // Sets share-partition start offsets of an empty share group.
  AlterShareGroupOffsetsRequest: message('AlterShareGroupOffsetsRequest', 91, [
    field('GroupId', 'string', '0+'),
    field('Topics', '[]AlterShareGroupOffsetsRequestTopic', '0+', {
      fields: [
        topicName,
        field('Partitions', '[]AlterShareGroupOffsetsRequestPartition', '0+', {
          fields: [partitionIndex, field('StartOffset', 'int64', '0+')],
        }),
      ],
    }),
  ]),
  AlterShareGroupOffsetsResponse: message('AlterShareGroupOffsetsResponse', 91, [
    throttle,
    errorCode,
    errorMessage,
    field('Responses', '[]AlterShareGroupOffsetsResponseTopic', '0+', {
      fields: [
        topicName,
        topicId,
        field('Partitions', '[]AlterShareGroupOffsetsResponsePartition', '0+', {
          fields: [partitionIndex, errorCode, errorMessage],
        }),
      ],
    }),
  ]),
  // Drops an empty share group's state for whole topics.
  DeleteShareGroupOffsetsRequest: message('DeleteShareGroupOffsetsRequest', 92, [
    field('GroupId', 'string', '0+'),
    field('Topics', '[]DeleteShareGroupOffsetsRequestTopic', '0+', { fields: [topicName] }),
  ]),
  DeleteShareGroupOffsetsResponse: message('DeleteShareGroupOffsetsResponse', 92, [
    throttle,
    errorCode,
    errorMessage,
    field('Responses', '[]DeleteShareGroupOffsetsResponseTopic', '0+', {
      fields: [topicName, topicId, errorCode, errorMessage],
    }),
  ]),
};

function insertAfter(fields, after, added) {
  const at = fields.findIndex((f) => f.name === after);
  if (at < 0) throw new Error(`supplement: no field ${after} to insert after`);
  fields.splice(at + 1, 0, ...added);
}

function fieldNamed(fields, path) {
  let list = fields;
  let found;
  for (const name of path) {
    found = list.find((f) => f.name === name);
    if (!found) throw new Error(`supplement: no field ${path.join('.')}`);
    list = found.fields ?? [];
  }
  return found;
}

const toV1 = (spec) => {
  spec.validVersions = '0-1';
};

/** Changes version 1 made to the vendored 4.0 messages, by file name. */
export const PATCHES = {
  ShareGroupHeartbeatRequest: toV1,
  ShareGroupHeartbeatResponse: toV1,
  ShareGroupDescribeRequest: toV1,
  ShareGroupDescribeResponse: toV1,
  ShareAcknowledgeRequest: toV1,
  ShareAcknowledgeResponse: toV1,
  ShareFetchRequest(spec) {
    toV1(spec);
    insertAfter(spec.fields, 'MaxBytes', [
      // A cap on the records acquired by the whole request (may be exceeded to end on a batch boundary).
      field('MaxRecords', 'int32', '1+'),
      // The client's preferred size of acquired-record batches.
      field('BatchSize', 'int32', '1+'),
    ]);
    fieldNamed(spec.fields, ['Topics', 'Partitions', 'PartitionMaxBytes']).versions = '0';
  },
  ShareFetchResponse(spec) {
    toV1(spec);
    // How long the records of this answer stay locked to the member (the group's lock duration).
    insertAfter(spec.fields, 'ErrorMessage', [field('AcquisitionLockTimeoutMs', 'int32', '1+')]);
  },
};
