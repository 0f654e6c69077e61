import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PAGE_SIZE, POLL_MAX_PER_TICK, Store, dueAt } from '../../web/static/js/store.js';

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

// storeOn is a Store that asks api and keeps time by clock.
function storeOn(api, clock) {
  return new Store({ api, now: clock.now, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
}

// polling is a Store on api and clock that has loaded the list and polls.
async function polling(api, clock) {
  const store = storeOn(api, clock);
  await store.refreshList();
  store.startPolling();
  return store;
}

// fakeAPI answers as the server does: server.list() gives every summary,
// newest first, and predictions() pages it with the cursor "after:<id>".
function fakeAPI(server) {
  return {
    calls: [],
    async predictions({ limit, cursor } = {}) {
      this.calls.push(cursor ? `list ${cursor}` : 'list');
      const all = server.list();
      const start = cursor ? all.findIndex((p) => `after:${p.id}` === cursor) + 1 : 0;
      const items = all.slice(start, start + (limit ?? 1000));
      const next = start + items.length < all.length ? `after:${items[items.length - 1].id}` : '';
      return { items, next };
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
    list: () => [summary()],
    get: () => {
      polls += 1;
      if (polls === 6) status = 'completed';
      return { ...summary(), input_data: {}, output_data: status === 'completed' ? { predictions: [1] } : null };
    },
  });
  const store = await polling(api, clock);
  while (await clock.next());
  assert.deepEqual(clock.delays, [1000, 2000, 4000, 8000, 15000, 15000]);
  assert.equal(store.get('a').status, 'completed');
  assert.equal(store.poll.active, false);
  assert.deepEqual(api.calls, ['list', ...Array(6).fill('get a')], 'polls ask for the pending prediction, never the list');
});

test('a poll lands just after the next prediction is due', async () => {
  const clock = fakeClock();
  const p = { id: 'a', status: 'pending', created_at: created, delay_seconds: 12 };
  const api = fakeAPI({ list: () => [p], get: () => p });
  const store = await polling(api, clock);
  for (let i = 0; i < 5; i++) await clock.next();
  // 1 + 2 + 4 = 7 s; the next step (8 s) would pass the due time at 12 s.
  assert.deepEqual(clock.delays.slice(0, 5), [1000, 2000, 4000, 5300, 15000]);
});

test('list and details agree: polling reloads the details of a pending prediction', async () => {
  const clock = fakeClock();
  let status = 'pending';
  const base = { id: 'a', model_id: 'lr', rows: 2, cost: 10, created_at: created, delay_seconds: 1 };
  const api = fakeAPI({
    list: () => [{ ...base, status }],
    get: () => ({ ...base, status, input_data: [], output_data: status === 'completed' ? { predictions: [1, 2] } : null }),
  });
  const store = storeOn(api, clock);
  await store.loadPrediction('a');
  assert.equal(store.get('a').detail.status, 'pending');
  status = 'completed';
  await clock.next();
  const rec = store.get('a');
  assert.equal(rec.status, 'completed');
  assert.equal(rec.detail.status, 'completed');
  assert.deepEqual(rec.detail.output_data.predictions, [1, 2]);
  assert.deepEqual(api.calls, ['get a', 'get a']);
  assert.equal(clock.timers.length, 0, 'polling stopped');
});

test('a final status is never undone by a lagging response', async () => {
  const clock = fakeClock();
  const base = { id: 'a', created_at: created, delay_seconds: 1 };
  let detailStatus = 'pending';
  const api = fakeAPI({ list: () => [{ ...base, status: 'completed' }], get: () => ({ ...base, status: detailStatus }) });
  const store = storeOn(api, clock);
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
  const store = await polling(api, clock);
  store.resetUser();
  assert.equal(clock.timers.length, 0);
  assert.equal(store.list.length, 0);
});

test('polling asks only for the pending predictions, not the history', async () => {
  const clock = fakeClock();
  const status = { a: 'completed', b: 'pending', c: 'failed', d: 'pending' };
  const summary = (id) => ({ id, status: status[id], created_at: created, delay_seconds: 5 });
  const api = fakeAPI({ list: () => Object.keys(status).map(summary), get: (id) => summary(id) });
  const store = await polling(api, clock);
  await clock.next();
  assert.deepEqual(api.calls.slice(1).sort(), ['get b', 'get d']);
  status.b = 'completed';
  await clock.next();
  assert.deepEqual(api.calls.slice(3).sort(), ['get b', 'get d']);
  status.d = 'completed';
  await clock.next();
  assert.deepEqual(api.calls.slice(5), ['get d'], 'a finished prediction is no longer polled');
  assert.equal(await clock.next(), false, 'polling stopped: nothing is pending');
  assert.ok(!api.calls.slice(1).some((c) => c.startsWith('list')), `no list calls while polling: ${api.calls}`);
});

test(`one poll asks for at most ${POLL_MAX_PER_TICK} predictions, the others next time`, async () => {
  const clock = fakeClock();
  const n = 2 * POLL_MAX_PER_TICK + 5;
  const list = Array.from({ length: n }, (_, i) => ({ id: `p${i}`, status: 'pending', created_at: created, delay_seconds: 3600 + i }));
  const api = fakeAPI({ list: () => list, get: (id) => list.find((p) => p.id === id) });
  const store = await polling(api, clock);
  const polled = [];
  for (let round = 0; round < 3; round++) {
    const before = api.calls.length;
    await clock.next();
    const got = api.calls.slice(before);
    assert.ok(got.length <= POLL_MAX_PER_TICK, `round ${round}: ${got.length} requests`);
    polled.push(...got);
  }
  assert.equal(new Set(polled).size, n, 'every pending prediction polled within three rounds');
  assert.deepEqual(polled.slice(0, 3), ['get p0', 'get p1', 'get p2'], 'the earliest due first');
});

test('the history follows X-Next-Cursor page by page, and a refresh keeps the pages loaded', async () => {
  const clock = fakeClock();
  const all = Array.from({ length: 2 * PAGE_SIZE + 20 }, (_, i) => ({ id: `p${String(1000 - i)}`, status: 'completed', created_at: created, delay_seconds: 1 }));
  const api = fakeAPI({ list: () => all, get: (id) => all.find((p) => p.id === id) });
  const store = storeOn(api, clock);
  await store.refreshList();
  assert.equal(store.list.length, PAGE_SIZE);
  assert.equal(store.hasMore, true);
  await store.loadMore();
  assert.equal(store.list.length, 2 * PAGE_SIZE);
  await store.loadMore();
  assert.equal(store.list.length, all.length, 'past the first page: no silent stop');
  assert.equal(store.hasMore, false, 'no X-Next-Cursor on the last page');
  assert.deepEqual(api.calls, ['list', `list after:${all[PAGE_SIZE - 1].id}`, `list after:${all[2 * PAGE_SIZE - 1].id}`]);
  assert.deepEqual(store.list.map((r) => r.id), all.map((p) => p.id), 'newest first, no gaps or repeats');
  await store.loadMore();
  assert.equal(api.calls.length, 3, 'nothing more to load');

  all.unshift({ id: 'p9999', status: 'pending', created_at: created, delay_seconds: 1 });
  await store.refreshList();
  assert.deepEqual(store.list.map((r) => r.id), all.map((p) => p.id), 'the new one first, the older pages kept');
  assert.equal(store.hasMore, false);
});
