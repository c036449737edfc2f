import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadBudget } from '../../src/util/read-budget.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function fakeSocket() {
  const calls: string[] = [];
  return { calls, pause: () => calls.push('pause'), resume: () => calls.push('resume') };
}

test('a socket read past its budget in one turn pauses, and resumes in the check phase', async () => {
  const socket = fakeSocket();
  const budget = new ReadBudget(socket, 256 * 1024, () => true);
  for (let i = 0; i < 3; i++) budget.spent(64 * 1024);
  assert.deepEqual(socket.calls, [], 'under the budget: no pause');
  budget.spent(64 * 1024);
  budget.spent(64 * 1024); // the chunk Node reads into the paused stream before stopping
  assert.deepEqual(socket.calls, ['pause'], 'one pause per turn');
  await nextTurn();
  assert.deepEqual(socket.calls, ['pause', 'resume']);
});

test('the budget is per turn: slow steady reads never pause', async () => {
  const socket = fakeSocket();
  const budget = new ReadBudget(socket, 256 * 1024, () => true);
  for (let i = 0; i < 20; i++) {
    budget.spent(100 * 1024);
    await nextTurn();
  }
  assert.deepEqual(socket.calls, []);
});

test('a socket held paused by someone else (a blocked publisher, a close) is not resumed', async () => {
  const socket = fakeSocket();
  let blocked = false;
  const budget = new ReadBudget(socket, 1024, () => !blocked);
  budget.spent(2048);
  blocked = true;
  await nextTurn();
  assert.deepEqual(socket.calls, ['pause']);
});
