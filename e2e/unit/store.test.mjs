import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Store, dueAt } from '../../web/static/js/store.js';

// fakeClock runs timers by hand.
function fakeClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  const c = { t: start, timers: [], delays: [] };
  c.now = () => c.t;
  c.setTimer = (fn, ms) => {
    const timer = { fn, at: c.t + ms };
    c.timers.push(timer);
    c.delays.push(ms);
    return timer;
  };
  c.clearTimer = (timer) => {
    c.timers = c.timers.filter((x) => x !== timer);
  };
  c.next = async () => {
    c.timers.sort((a, b) => a.at - b.at);
    const timer = c.timers.shift();
    if (!timer) return false;
    c.t = timer.at;
    await timer.fn();
    return true;
  };
  return c;
}

function fakeAPI(server) {
  return {
    calls: [],
    async predictions() {
      this.calls.push('list');
      return server.list();
    },
    async prediction(id) {
      this.calls.push(`get ${id}`);
      return server.get(id);
    },
  };
}

const created = '2026-01-01T00:00:00Z';

test('dueAt is created_at + delay_seconds', () => {
  assert.equal(dueAt({ created_at: created, delay_seconds: 20 }), Date.parse(created) + 20000);
  assert.ok(Number.isNaN(dueAt({})));
});

test('polling backs off 1, 2, 4, 8, 15, 15 s and stops when nothing is pending', async () => {
  const clock = fakeClock();
  let status = 'pending';
  let polls = 0;
  const summary = () => ({ id: 'a', model_id: 'lr', status, rows: 1, cost: 10, created_at: created, delay_seconds: 3600 });
  const api = fakeAPI({
    list: () => {
      polls += 1;
      if (polls === 7) status = 'completed';
      return [summary()];
    },
    get: () => ({ ...summary(), input_data: {}, output_data: status === 'completed' ? { predictions: [1] } : null }),
  });
  const store = new Store({ api, now: clock.now, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  await store.refreshList();
  store.startPolling();
  while (await clock.next());
  assert.deepEqual(clock.delays, [1000, 2000, 4000, 8000, 15000, 15000]);
  assert.equal(store.get('a').status, 'completed');
  assert.equal(store.poll.active, false);
});

test('a poll lands just after the next prediction is due', async () => {
  const clock = fakeClock();
  const p = { id: 'a', status: 'pending', created_at: created, delay_seconds: 12 };
  const api = fakeAPI({ list: () => [p], get: () => p });
  const store = new Store({ api, now: clock.now, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  await store.refreshList();
  store.startPolling();
  for (let i = 0; i < 5; i++) await clock.next();
  // 1 + 2 + 4 = 7 s; the next step (8 s) would pass the due time at 12 s.
  assert.deepEqual(clock.delays.slice(0, 5), [1000, 2000, 4000, 5300, 15000]);
});

test('list and details agree: a status change in the list reloads the details', async () => {
  const clock = fakeClock();
  let status = 'pending';
  const base = { id: 'a', model_id: 'lr', rows: 2, cost: 10, created_at: created, delay_seconds: 1 };
  const api = fakeAPI({
    list: () => [{ ...base, status }],
    get: () => ({ ...base, status, input_data: [], output_data: status === 'completed' ? { predictions: [1, 2] } : null }),
  });
  const store = new Store({ api, now: clock.now, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  await store.loadPrediction('a');
  assert.equal(store.get('a').detail.status, 'pending');
  status = 'completed';
  await clock.next();
  const rec = store.get('a');
  assert.equal(rec.status, 'completed');
  assert.equal(rec.detail.status, 'completed');
  assert.deepEqual(rec.detail.output_data.predictions, [1, 2]);
  assert.deepEqual(api.calls, ['get a', 'list', 'get a']);
  assert.equal(clock.timers.length, 0, 'polling stopped');
});

test('a final status is never undone by a lagging response', async () => {
  const clock = fakeClock();
  const base = { id: 'a', created_at: created, delay_seconds: 1 };
  let detailStatus = 'pending';
  const api = fakeAPI({ list: () => [{ ...base, status: 'completed' }], get: () => ({ ...base, status: detailStatus }) });
  const store = new Store({ api, now: clock.now, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  await store.refreshList();
  await store.loadPrediction('a');
  assert.equal(store.get('a').status, 'completed');
  assert.equal(store.get('a').detail, null, 'stale details are not kept');
  assert.equal(store.unsettled().length, 1, 'and polling goes on until they catch up');
  detailStatus = 'completed';
  await clock.next();
  assert.equal(store.get('a').detail.status, 'completed');
  assert.equal(store.unsettled().length, 0);
});

test('resetUser (sign out) stops polling and forgets the data', async () => {
  const clock = fakeClock();
  const p = { id: 'a', status: 'pending', created_at: created, delay_seconds: 100 };
  const api = fakeAPI({ list: () => [p], get: () => p });
  const store = new Store({ api, now: clock.now, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  await store.refreshList();
  store.startPolling();
  store.resetUser();
  assert.equal(clock.timers.length, 0);
  assert.equal(store.list.length, 0);
});
