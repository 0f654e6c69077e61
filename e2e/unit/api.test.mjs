import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

// api.js runs in the browser: give it a sessionStorage and a fetch.
const storage = new Map();
globalThis.sessionStorage = {
  getItem: (k) => (storage.has(k) ? storage.get(k) : null),
  setItem: (k, v) => storage.set(k, String(v)),
  removeItem: (k) => storage.delete(k),
};
let answer = null;
let sent = [];
globalThis.fetch = async (path, init) => {
  sent.push({ path, init });
  return answer();
};
function respond(status, body, headers = {}) {
  return () => new Response(body === null ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

const { api, createSession, getSession, setSession, setUnauthorizedHandler } = await import('../../web/static/js/api.js');

beforeEach(() => {
  storage.clear();
  sent = [];
});

test('a session keeps the token, never the password', async () => {
  answer = respond(200, { access_token: 'a.b.c', token_type: 'Bearer', expires_in: 3600 });
  const s = await createSession('ann', 'secret password');
  setSession(s);
  assert.equal(JSON.parse(sent[0].init.body).password, 'secret password');
  assert.ok(![...storage.values()].some((v) => v.includes('secret password')), 'password stored');
  assert.equal(getSession().token, 'a.b.c');
  answer = respond(200, { user_id: 'u' });
  await api.me();
  assert.equal(sent[1].init.headers.Authorization, 'Bearer a.b.c');
});

test('an expired session goes back to sign-in without a request', async () => {
  setSession({ token: 'a.b.c', username: 'ann', expiresAt: Date.now() - 1 });
  let told = null;
  setUnauthorizedHandler((err) => (told = err));
  await assert.rejects(api.me(), (err) => err.status === 401 && /expired/.test(err.detail));
  assert.match(told.detail, /expired/);
  assert.equal(sent.length, 0);
});

test('a 429 says how long to wait', async () => {
  setSession({ token: 'a.b.c', username: 'ann', expiresAt: Date.now() + 60_000 });
  answer = respond(429, { detail: 'more than 20/s requests: try again in 2 s' }, { 'Retry-After': '2' });
  await assert.rejects(api.me(), (err) => err.status === 429 && err.retryAfter === 2 && /try again in 2 s/.test(err.detail));
  answer = respond(429, { detail: 'slow down' }, { 'Retry-After': '7' });
  await assert.rejects(api.me(), (err) => /wait 7 s/.test(err.detail));
});
