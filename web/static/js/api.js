// The API client: same-origin fetch with a session token (POST
// /auth/token) kept in sessionStorage only — never the password, never in
// the URL or in localStorage; it dies with the tab and within the hour.
// Every request says X-Requested-With: fetch so that a 401 does not make
// the browser open its own sign-in popup.

const KEY = 'mlsvc.session';

export class ApiError extends Error {
  constructor(status, detail, retryAfter = 0) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

// getSession returns {token, username, expiresAt} or null.
export function getSession() {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw);
    return typeof s?.token === 'string' && typeof s?.username === 'string' && typeof s?.expiresAt === 'number' ? s : null;
  } catch {
    return null;
  }
}

export function setSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify({ token: session.token, username: session.username, expiresAt: session.expiresAt }));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

// createSession exchanges a username and password for a session token; the
// password is not kept.
export async function createSession(username, password) {
  const data = await request('POST', '/auth/token', { body: { username, password }, auth: false });
  if (typeof data?.access_token !== 'string') throw new ApiError(0, 'The server sent no session token.');
  const ttl = Number(data.expires_in) > 0 ? Number(data.expires_in) : 3600;
  return { token: data.access_token, username, expiresAt: Date.now() + ttl * 1000 };
}

let onUnauthorized = () => {};

// setUnauthorizedHandler registers what to do when the session stops
// working (expired, or a 401 on an authenticated call that did not pass
// its own session).
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function detailOf(res) {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (typeof body?.detail === 'string' && body.detail) return body.detail;
    if (Array.isArray(body?.detail)) return body.detail.map((d) => d?.msg ?? JSON.stringify(d)).join('; ');
  } catch {
    // not JSON: fall through
  }
  if (res.status === 413) return 'The request is too large (over 6 MB).';
  return `The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`;
}

// request calls the API. auth: true uses the stored session; a session
// object uses that one (sign-in); false sends none. body is sent
// as JSON; raw (a Blob, File or string) is sent as it is, with contentType.
// With withHeaders it returns {data, headers} instead of the data alone.
export async function request(method, path, { body, raw, contentType, auth = true, headers: extra = {}, withHeaders = false } = {}) {
  const headers = { Accept: 'application/json', 'X-Requested-With': 'fetch', ...extra };
  const session = auth === true ? getSession() : auth || null;
  if (auth === true && (!session || session.expiresAt <= Date.now())) {
    const err = new ApiError(401, session ? 'Your session has expired. Please sign in again.' : 'Please sign in.');
    onUnauthorized(err);
    throw err;
  }
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (raw !== undefined) headers['Content-Type'] = contentType;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, `Cannot reach the server (${e.message}). Check your connection and try again.`);
  }
  if (!res.ok) {
    let detail = await detailOf(res);
    const retryAfter = res.status === 429 ? Number.parseInt(res.headers.get('Retry-After') ?? '', 10) || 0 : 0;
    if (res.status === 429) {
      const wait = retryAfter > 0 ? `Please wait ${retryAfter} s and try again.` : 'Please wait a moment and try again.';
      detail = /try again/i.test(detail) ? `Too many attempts: ${detail}` : `Too many attempts. ${wait}`;
    }
    const err = new ApiError(res.status, detail, retryAfter);
    if (res.status === 401 && auth === true) onUnauthorized(err);
    throw err;
  }
  if (res.status === 204) return withHeaders ? { data: null, headers: res.headers } : null;
  let data;
  try {
    data = await res.json();
  } catch {
    throw new ApiError(res.status, 'The server sent a response that is not JSON.');
  }
  return withHeaders ? { data, headers: res.headers } : data;
}

// page fetches one page of a listing that pages by X-Next-Cursor.
async function page(path, { limit, cursor } = {}) {
  const q = new URLSearchParams();
  if (limit) q.set('limit', String(limit));
  if (cursor) q.set('cursor', cursor);
  const qs = q.toString();
  const { data, headers } = await request('GET', `${path}${qs ? `?${qs}` : ''}`, { withHeaders: true });
  return { items: Array.isArray(data) ? data : [], next: headers.get('X-Next-Cursor') ?? '' };
}

export const api = {
  // transactions returns one page of the ledger, newest first: {items, next}.
  transactions: (opts) => page('/account/transactions', opts),
  register: (firstname, username, password) =>
    request('POST', '/users', { body: { firstname, username, password }, auth: false }),
  me: (session) => request('GET', '/users/me', { auth: session ?? true }),
  changePassword: (current, next) =>
    request('POST', '/users/me/password', { body: { current_password: current, new_password: next } }),
  apiKeys: () => request('GET', '/api-keys'),
  createAPIKey: (name) => request('POST', '/api-keys', { body: { name } }),
  deleteAPIKey: (id) => request('DELETE', `/api-keys/${encodeURIComponent(id)}`),
  topUp: (amount) => request('POST', '/account/topup', { body: { amount } }),
  models: () => request('GET', '/models', { auth: false }),
  // idempotencyKey makes a retry of the same submission (after a network
  // error) return the first prediction instead of charging again.
  predict: (modelID, inputData, idempotencyKey, webhookURL) =>
    request('POST', '/predict', {
      body: { model_id: modelID, input_data: inputData, ...(webhookURL ? { webhook_url: webhookURL } : {}) },
      headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {},
    }),
  // predictCSV sends a CSV file as it is: the server parses and checks
  // every row, and names the first bad row and column.
  predictCSV: (modelID, file, idempotencyKey, webhookURL) =>
    request('POST', `/predict?model_id=${encodeURIComponent(modelID)}${webhookURL ? `&webhook_url=${encodeURIComponent(webhookURL)}` : ''}`, {
      raw: file,
      contentType: 'text/csv',
      headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {},
    }),
  prediction: (id) => request('GET', `/predict/${encodeURIComponent(id)}`),
  // The secret that signs webhook deliveries (Standard Webhooks).
  webhookSecret: () => request('GET', '/account/webhook-secret'),
  rotateWebhookSecret: () => request('POST', '/account/webhook-secret/rotate'),
  // cancel cancels a pending prediction; its charge is refunded.
  cancel: (id) => request('POST', `/predict/${encodeURIComponent(id)}/cancel`),
  // predictions returns one page, newest first: {items, next}, where next
  // is the X-Next-Cursor of the following page ('' on the last page).
  predictions: async ({ limit, cursor } = {}) => {
    const q = new URLSearchParams();
    if (limit) q.set('limit', String(limit));
    if (cursor) q.set('cursor', cursor);
    const qs = q.toString();
    const { data, headers } = await request('GET', `/predictions${qs ? `?${qs}` : ''}`, { withHeaders: true });
    return { items: Array.isArray(data) ? data : [], next: headers.get('X-Next-Cursor') ?? '' };
  },
};
