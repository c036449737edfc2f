import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headersMatch } from '../../../src/core/amqp/exchange.js';
import { TopicTrie } from '../../../src/core/amqp/topic-trie.js';

function matches(patterns: string[], key: string): string[] {
  const trie = new TopicTrie<string>();
  for (const p of patterns) trie.add(p, p);
  const out = new Set<string>();
  trie.match(key, out);
  return [...out].sort();
}

test('topic patterns: * is one word, # is zero or more', () => {
  const patterns = ['a.*', 'a.#', '#', '*.b', 'a.*.c', 'a.#.c', '#.c', 'a.b.c', '*'];
  assert.deepEqual(matches(patterns, 'a.b.c'), ['#', '#.c', 'a.#', 'a.#.c', 'a.*.c', 'a.b.c'].sort());
  assert.deepEqual(matches(patterns, 'a.b'), ['#', '*.b', 'a.#', 'a.*'].sort());
  assert.deepEqual(matches(patterns, 'a'), ['#', '*', 'a.#'].sort());
  assert.deepEqual(matches(patterns, 'a.c'), ['#', '#.c', 'a.#', 'a.#.c', 'a.*'].sort());
  assert.deepEqual(matches(patterns, 'x.y.z.c'), ['#', '#.c'].sort());
  // The empty routing key has no words: only # and the empty pattern match it.
  assert.deepEqual(matches([...patterns, ''], ''), ['', '#'].sort());
});

test('removing a pattern stops its matches and leaves the others', () => {
  const trie = new TopicTrie<string>();
  trie.add('a.#', 'one');
  trie.add('a.#', 'two');
  trie.add('a.b', 'three');
  trie.remove('a.#', 'one');
  const out = new Set<string>();
  trie.match('a.b', out);
  assert.deepEqual([...out].sort(), ['three', 'two']);
  trie.remove('a.#', 'two');
  trie.remove('a.b', 'three');
  out.clear();
  trie.match('a.b', out);
  assert.deepEqual([...out], []);
});

test('headers matching: x-match all (default) and any; x- keys ignored; void matches presence', () => {
  const headers = { format: 'pdf', type: 'report', 'x-trace': 'abc' };
  assert.equal(headersMatch({ format: 'pdf', type: 'report' }, headers), true);
  assert.equal(headersMatch({ 'x-match': 'all', format: 'pdf', type: 'log' }, headers), false);
  assert.equal(headersMatch({ 'x-match': 'any', format: 'zip', type: 'report' }, headers), true);
  assert.equal(headersMatch({ 'x-match': 'any', format: 'zip' }, headers), false);
  assert.equal(headersMatch({ 'x-match': 'all', 'x-trace': 'other' }, headers), true, 'x- keys are ignored');
  assert.equal(headersMatch({ 'x-match': 'all-with-x', 'x-trace': 'other' }, headers), false);
  assert.equal(headersMatch({ 'x-match': 'any-with-x', 'x-trace': 'abc' }, headers), true);
  assert.equal(headersMatch({ format: null }, headers), true, 'void matches on presence');
  assert.equal(headersMatch({ missing: null }, headers), false);
  assert.equal(headersMatch({ 'x-match': 'any' }, headers), false, 'any with nothing to match');
  assert.equal(headersMatch({}, headers), true, 'all with nothing to match');
  assert.equal(headersMatch({ n: 5 }, { n: 5n }), true, 'numbers compare across int and bigint');
});
