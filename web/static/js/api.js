// The API client: same-origin fetch with HTTP Basic credentials kept in
// sessionStorage only (gone when the tab closes, never in the URL or in
// localStorage). Every request says X-Requested-With: fetch so that a 401
// does not make the browser open its own sign-in popup.

const KEY = 'mlsvc.credentials';

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
  }
}

export function getCredentials() {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const c = JSON.parse(raw);
    return typeof c?.username === 'string' && typeof c?.password === 'string' ? c : null;
  } catch {
    return null;
  }
}

export function setCredentials(username, password) {
  sessionStorage.setItem(KEY, JSON.stringify({ username, password }));
}

export function clearCredentials() {
  sessionStorage.removeItem(KEY);
}

function basic({ username, password }) {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

let onUnauthorized = () => {};

// setUnauthorizedHandler registers what to do when stored credentials stop
// working (a 401 on an authenticated call that did not pass its own).
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

// request calls the API. auth: true uses the stored credentials; an object
// {username, password} uses those (sign-in); false sends none. body is sent
// as JSON; raw (a Blob, File or string) is sent as it is, with contentType.
// With withHeaders it returns {data, headers} instead of the data alone.
export async function request(method, path, { body, raw, contentType, auth = true, headers: extra = {}, withHeaders = false } = {}) {
  const headers = { Accept: 'application/json', 'X-Requested-With': 'fetch', ...extra };
  const creds = auth === true ? getCredentials() : auth || null;
  if (auth === true && !creds) {
    onUnauthorized();
    throw new ApiError(401, 'Please sign in.');
  }
  if (creds) headers.Authorization = basic(creds);
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
    const err = new ApiError(res.status, await detailOf(res));
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

export const api = {
  register: (firstname, username, password) =>
    request('POST', '/users', { body: { firstname, username, password }, auth: false }),
  me: (creds) => request('GET', '/users/me', { auth: creds ?? true }),
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
