// Fetch sessions (KIP-227) through the real codec: sessions created by full fetches, incremental
// answers that carry only the partitions with something new, epochs checked, forgotten partitions,
// the cache's eviction rules, topic-id sessions (Fetch v13+), long polls over a session.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTopicId } from '../../../src/core/kafka/topic-registry.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { fetchApis } from '../../../src/protocol/kafka/apis/fetch.js';
import { produceApis } from '../../../src/protocol/kafka/apis/produce.js';
import type { FetchResponse, KafkaStruct } from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { FETCH_SESSION_EVICTION_MS, FetchSessionCache } from '../../../src/protocol/kafka/fetch-sessions.js';
import { KafkaProducers, MemoryProducerIdBlockStore } from '../../../src/protocol/kafka/producers.js';
import {
  batchOf,
  call,
  FakeTopics,
  flushMicrotasks,
  produceBody,
  start,
  testTransactions,
} from './data-path-helpers.js';

const PRODUCE = 0;
const FETCH = 1;
const ZERO_ID = '00000000-0000-0000-0000-000000000000';

interface Wanted {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

function setup(maxSlots = 1000) {
  const clock = new ManualClock();
  const topics = new FakeTopics(clock);
  const producers = new KafkaProducers({ clock, idStore: new MemoryProducerIdBlockStore() });
  const transactions = testTransactions(topics, clock);
  let nextId = 100;
  const sessions = new FetchSessionCache({ clock, maxSlots, newId: () => nextId++ });
  const apis = [
    ...produceApis({ topics, producers, clock, transactions }),
    ...fetchApis({ topics, clock, transactions, sessions }),
  ];
  const produce = async (topic: string, partition: number, count = 1) => {
    await start(apis, PRODUCE, 9, produceBody(topic, partition, batchOf(count), { acks: 1 })).answer;
  };
  const topicField = (name: string, version: number) =>
    version >= 13
      ? { topic: '', topicId: formatTopicId(topics.get(name)!.id) }
      : { topic: name, topicId: ZERO_ID };
  const body = (
    sessionId: number,
    sessionEpoch: number,
    wanted: readonly Wanted[],
    options: { version?: number; forgotten?: readonly Wanted[]; maxWaitMs?: number } = {},
  ): KafkaStruct => {
    const version = options.version ?? 12;
    const byTopic = (list: readonly Wanted[]) => [...new Set(list.map((w) => w.topic))];
    return {
      replicaId: -1,
      maxWaitMs: options.maxWaitMs ?? 0,
      minBytes: 1,
      maxBytes: 50 * 1024 * 1024,
      isolationLevel: 0,
      sessionId,
      sessionEpoch,
      topics: byTopic(wanted).map((topic) => ({
        ...topicField(topic, version),
        partitions: wanted
          .filter((w) => w.topic === topic)
          .map((w) => ({
            partition: w.partition,
            fetchOffset: BigInt(w.offset),
            partitionMaxBytes: 1024 * 1024,
            currentLeaderEpoch: -1,
            logStartOffset: -1n,
          })),
      })),
      forgottenTopicsData: byTopic(options.forgotten ?? []).map((topic) => ({
        ...topicField(topic, version),
        partitions: (options.forgotten ?? []).filter((w) => w.topic === topic).map((w) => w.partition),
      })),
    };
  };
  const fetch = async (request: KafkaStruct, version = 12) =>
    (await call<FetchResponse>(apis, FETCH, version, request)) as FetchResponse;
  return { clock, topics, sessions, produce, body, fetch };
}

/** `topic:partition` of each partition in an answer, in order. */
function answered(response: FetchResponse): string[] {
  return response.responses.flatMap((t) =>
    t.partitions.map((p) => `${t.topic || t.topicId}:${p.partitionIndex}`),
  );
}

const all = (topic: string, count: number, offset = 0): Wanted[] =>
  Array.from({ length: count }, (_, partition) => ({ topic, partition, offset }));

describe('Fetch sessions (KIP-227)', () => {
  it('a full fetch with epoch 0 creates a session; incremental answers carry only changed partitions', async () => {
    const { topics, produce, body, fetch, sessions } = setup();
    topics.create('t', 4);
    await produce('t', 2, 3);
    const full = await fetch(body(0, 0, all('t', 4)));
    assert.equal(full.errorCode, KafkaError.NONE);
    assert.notEqual(full.sessionId, 0, 'a session was created');
    assert.deepEqual(answered(full), ['t:0', 't:1', 't:2', 't:3'], 'a full fetch answers every partition');
    assert.equal(sessions.size, 1);

    // Nothing new: the client moves its position on t:2 past the 3 records, and nothing is answered.
    const quiet = await fetch(body(full.sessionId, 1, [{ topic: 't', partition: 2, offset: 3 }]));
    assert.equal(quiet.errorCode, KafkaError.NONE);
    assert.equal(quiet.sessionId, full.sessionId);
    assert.deepEqual(answered(quiet), []);

    // New records on t:1, which the incremental request does not even name: only t:1 is answered.
    await produce('t', 1, 2);
    const changed = await fetch(body(full.sessionId, 2, []));
    assert.deepEqual(answered(changed), ['t:1']);
    const p1 = changed.responses[0]!.partitions[0]!;
    assert.equal(p1.highWatermark, 2n);
    assert.ok((p1.records?.length ?? 0) > 0, 'with its records, read from the session offset 0');

    // The client is at 2 on t:1 now; the high watermark has not moved since the last answer.
    const again = await fetch(body(full.sessionId, 3, [{ topic: 't', partition: 1, offset: 2 }]));
    assert.deepEqual(answered(again), []);
  });

  it('checks epochs: a repeated, skipped or unknown session is refused with the error clients recover from', async () => {
    const { topics, produce, body, fetch } = setup();
    topics.create('t', 2);
    await produce('t', 0);
    const { sessionId } = await fetch(body(0, 0, all('t', 2)));
    assert.equal((await fetch(body(sessionId, 1, []))).errorCode, KafkaError.NONE);

    for (const epoch of [1, 3, 1000]) {
      const wrong = await fetch(body(sessionId, epoch, []));
      assert.equal(wrong.errorCode, KafkaError.INVALID_FETCH_SESSION_EPOCH, `epoch ${epoch}`);
      assert.equal(wrong.sessionId, 0);
      assert.deepEqual(wrong.responses, []);
    }
    // A refused epoch does not advance the session: epoch 2 still works.
    assert.equal((await fetch(body(sessionId, 2, []))).errorCode, KafkaError.NONE);

    const unknown = await fetch(body(sessionId + 999, 1, []));
    assert.equal(unknown.errorCode, KafkaError.FETCH_SESSION_ID_NOT_FOUND);
    assert.deepEqual(unknown.responses, []);

    // Epoch -1 naming the session closes it and answers as a sessionless full fetch.
    const closing = await fetch(body(sessionId, -1, all('t', 2)));
    assert.equal(closing.sessionId, 0);
    assert.deepEqual(answered(closing), ['t:0', 't:1']);
    assert.equal((await fetch(body(sessionId, 3, []))).errorCode, KafkaError.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('a full fetch naming a session replaces it with a new one; epoch -1 without one never creates one', async () => {
    const { topics, body, fetch, sessions } = setup();
    topics.create('t', 1);
    const sessionless = await fetch(body(0, -1, all('t', 1)));
    assert.equal(sessionless.sessionId, 0);
    assert.equal(sessions.size, 0);
    const first = await fetch(body(0, 0, all('t', 1)));
    const second = await fetch(body(first.sessionId, 0, all('t', 1)));
    assert.notEqual(second.sessionId, first.sessionId);
    assert.equal(sessions.size, 1, 'the old session was closed');
    assert.equal(
      (await fetch(body(first.sessionId, 1, []))).errorCode,
      KafkaError.FETCH_SESSION_ID_NOT_FOUND,
    );
  });

  it('forgotten partitions leave the session; a session left empty is closed', async () => {
    const { topics, produce, body, fetch, sessions } = setup();
    topics.create('t', 2);
    topics.create('u', 1);
    const { sessionId } = await fetch(body(0, 0, [...all('t', 2), ...all('u', 1)]));
    const forget = await fetch(
      body(sessionId, 1, [], { forgotten: [{ topic: 't', partition: 1, offset: 0 }] }),
    );
    assert.deepEqual(answered(forget), []);
    await produce('t', 1);
    await produce('u', 0);
    assert.deepEqual(answered(await fetch(body(sessionId, 2, []))), ['u:0'], 't:1 was forgotten');

    // Adding a partition in an incremental request: it is answered at once (never answered before).
    const added = await fetch(
      body(sessionId, 3, [
        { topic: 't', partition: 1, offset: 1 },
        { topic: 'u', partition: 0, offset: 1 },
      ]),
    );
    assert.deepEqual(answered(added), ['t:1'], 'u:0 has nothing new past offset 1');

    const emptied = await fetch(
      body(sessionId, 4, [], { forgotten: [...all('t', 2), { topic: 'u', partition: 0, offset: 0 }] }),
    );
    assert.equal(emptied.errorCode, KafkaError.NONE);
    assert.equal(emptied.sessionId, 0, 'an empty session is closed');
    assert.equal(sessions.size, 0);
  });

  it('partitions with errors are answered every time, and again once the error is gone', async () => {
    const { topics, body, fetch } = setup();
    topics.create('t', 1);
    const wanted = [...all('t', 1), { topic: 'gone', partition: 0, offset: 0 }];
    const full = await fetch(body(0, 0, wanted));
    assert.deepEqual(answered(full), ['t:0', 'gone:0']);
    for (const epoch of [1, 2]) {
      const next = await fetch(body(full.sessionId, epoch, []));
      assert.deepEqual(answered(next), ['gone:0']);
      assert.equal(next.responses[0]!.partitions[0]!.errorCode, KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    }
    topics.create('gone', 1);
    const healed = await fetch(body(full.sessionId, 3, []));
    assert.deepEqual(answered(healed), ['gone:0']);
    assert.equal(healed.responses[0]!.partitions[0]!.errorCode, KafkaError.NONE);
    assert.deepEqual(answered(await fetch(body(full.sessionId, 4, []))), []);
  });

  it('an incremental long poll wakes for a session partition the request did not name', async () => {
    const { topics, produce, body, fetch, clock } = setup();
    topics.create('t', 3);
    const { sessionId } = await fetch(body(0, 0, all('t', 3)));
    const waiting = fetch(body(sessionId, 1, [], { maxWaitMs: 30_000 }));
    await flushMicrotasks();
    await produce('t', 2);
    const woken = await waiting;
    assert.deepEqual(answered(woken), ['t:2']);
    assert.equal(clock.pendingTimers, 0);
  });

  it('answered partitions move to the end of the session, so a byte limit serves them in turn', async () => {
    const { topics, produce, body, fetch } = setup();
    topics.create('t', 3);
    for (const p of [0, 1, 2]) await produce('t', p, 20);
    const full = await fetch({ ...body(0, 0, all('t', 3)), maxBytes: 1 });
    // KIP-74: one batch is always sent whole; the byte limit stops the other partitions' records.
    const withRecords = (r: FetchResponse) =>
      r.responses.flatMap((t) =>
        t.partitions.filter((p) => (p.records?.length ?? 0) > 0).map((p) => p.partitionIndex),
      );
    assert.deepEqual(withRecords(full), [0]);
    const next = await fetch({
      ...body(full.sessionId, 1, [{ topic: 't', partition: 0, offset: 20 }]),
      maxBytes: 1,
    });
    assert.deepEqual(withRecords(next), [1], 't:1 is first now');
    const third = await fetch({
      ...body(full.sessionId, 2, [{ topic: 't', partition: 1, offset: 20 }]),
      maxBytes: 1,
    });
    assert.deepEqual(withRecords(third), [2]);
  });

  it('Fetch v13+ sessions name topics by id; unknown ids are UNKNOWN_TOPIC_ID; mixing versions is refused', async () => {
    const { topics, produce, body, fetch } = setup();
    const t = topics.create('t', 2);
    await produce('t', 1);
    const full = await fetch(body(0, 0, all('t', 2), { version: 13 }), 13);
    assert.notEqual(full.sessionId, 0);
    assert.equal(full.responses[0]!.topicId, formatTopicId(t.id));
    assert.deepEqual(answered(full), [`${formatTopicId(t.id)}:0`, `${formatTopicId(t.id)}:1`]);
    await produce('t', 0);
    for (const version of [13, 15, 17]) {
      const epoch = version === 13 ? 1 : version === 15 ? 2 : 3;
      // The client is past the record of t:1; t:0 has a new one.
      const moved = version === 13 ? [{ topic: 't', partition: 1, offset: 1 }] : [];
      const next = await fetch(body(full.sessionId, epoch, moved, { version }), version);
      assert.equal(next.errorCode, KafkaError.NONE, `v${version}`);
      if (version === 13) assert.deepEqual(answered(next), [`${formatTopicId(t.id)}:0`]);
    }
    const mixed = await fetch(body(full.sessionId, 4, []), 12);
    assert.equal(mixed.errorCode, KafkaError.FETCH_SESSION_TOPIC_ID_ERROR);

    const unknown = await fetch(
      {
        ...body(0, -1, [], { version: 13 }),
        topics: [
          {
            topicId: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
            partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024, currentLeaderEpoch: -1 }],
          },
        ],
      },
      13,
    );
    assert.equal(unknown.responses[0]!.partitions[0]!.errorCode, KafkaError.UNKNOWN_TOPIC_ID);
  });
});

describe('FetchSessionCache eviction (max.incremental.fetch.session.cache.slots)', () => {
  it('when full: no session for a newcomer until one is idle for the eviction time; then the idlest goes', async () => {
    const { topics, body, fetch, clock } = setup(2);
    topics.create('t', 3);
    const a = await fetch(body(0, 0, all('t', 1)));
    const b = await fetch(body(0, 0, all('t', 1)));
    assert.ok(a.sessionId && b.sessionId);
    const refused = await fetch(body(0, 0, all('t', 1)));
    assert.equal(refused.sessionId, 0, 'full cache: the fetch is answered without a session');
    assert.deepEqual(answered(refused), ['t:0']);

    clock.advance(FETCH_SESSION_EVICTION_MS + 1);
    assert.equal((await fetch(body(a.sessionId, 1, []))).errorCode, KafkaError.NONE, 'a is used again');
    const c = await fetch(body(0, 0, all('t', 1)));
    assert.notEqual(c.sessionId, 0);
    assert.equal(
      (await fetch(body(b.sessionId, 1, []))).errorCode,
      KafkaError.FETCH_SESSION_ID_NOT_FOUND,
      'b, idle, went',
    );
    assert.equal((await fetch(body(a.sessionId, 2, []))).errorCode, KafkaError.NONE, 'a stays');
  });

  it('when full of busy sessions: a larger newcomer replaces the smallest one older than the eviction time', async () => {
    const { topics, body, fetch, clock } = setup(2);
    topics.create('t', 3);
    const small = await fetch(body(0, 0, all('t', 1)));
    const medium = await fetch(body(0, 0, all('t', 2)));
    clock.advance(FETCH_SESSION_EVICTION_MS / 2);
    await fetch(body(small.sessionId, 1, []));
    await fetch(body(medium.sessionId, 1, []));
    clock.advance(FETCH_SESSION_EVICTION_MS / 2 + 1);
    await fetch(body(small.sessionId, 2, []));
    await fetch(body(medium.sessionId, 2, []));
    // Both are busy (used just now) and older than the eviction time; a session of equal size to the
    // smallest does not replace it, a larger one does.
    assert.equal((await fetch(body(0, 0, all('t', 1)))).sessionId, 0);
    const large = await fetch(body(0, 0, all('t', 3)));
    assert.notEqual(large.sessionId, 0);
    assert.equal(
      (await fetch(body(small.sessionId, 3, []))).errorCode,
      KafkaError.FETCH_SESSION_ID_NOT_FOUND,
    );
    assert.equal((await fetch(body(medium.sessionId, 3, []))).errorCode, KafkaError.NONE);
  });

  it('0 slots: every fetch is a full fetch answered with session id 0', async () => {
    const { topics, body, fetch, sessions } = setup(0);
    topics.create('t', 1);
    assert.equal((await fetch(body(0, 0, all('t', 1)))).sessionId, 0);
    assert.equal(sessions.size, 0);
  });
});
