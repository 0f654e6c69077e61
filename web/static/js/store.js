// One client-side store of the signed-in user's data. The history list and
// the details view both render from the same prediction records, so they
// cannot disagree: a record's status only moves forward (pending → completed
// | failed), and when the list reports a new status for a prediction whose
// details are loaded, the details are fetched again before anyone renders
// them as final.
//
// The list is paged as the server pages it: GET /predictions?limit=PAGE_SIZE
// gives the newest predictions and an X-Next-Cursor header, and loadMore
// follows that cursor until the server sends none.
//
// While anything is pending the store polls only the pending predictions,
// each with GET /predict/{id} (at most POLL_MAX_PER_TICK a round, the
// earliest due first), with backoff (1 s, 2 s, 4 s, … at most 15 s, but
// never much past the moment the next prediction is due), and stops when
// nothing is pending. No DOM here, so Node's test runner can drive it with
// a fake API and fake timers.

export const POLL_MIN_MS = 1000;
export const POLL_MAX_MS = 15000;
export const POLL_MAX_PER_TICK = 10;
export const PAGE_SIZE = 50;

const RANK = { pending: 0, completed: 1, failed: 1, canceled: 1 };

export function isFinal(status) {
  return status === 'completed' || status === 'failed' || status === 'canceled';
}

// dueAt is when a prediction should finish: created_at + delay_seconds.
export function dueAt(p) {
  const created = Date.parse(p?.created_at);
  const delay = Number(p?.delay_seconds);
  if (Number.isNaN(created) || !Number.isFinite(delay)) return NaN;
  return created + delay * 1000;
}

// detailsBehind: the details of r were loaded (or asked for) and say less
// than its status.
function detailsBehind(r) {
  return Boolean(r.detailWanted) && r.detail?.status !== r.status;
}

function rank(status) {
  return RANK[status] ?? 0;
}

const SUMMARY_FIELDS = ['model_id', 'status', 'rows', 'cost', 'created_at', 'updated_at', 'delay_seconds', 'error'];

export class Store {
  constructor({ api, now = () => Date.now(), setTimer, clearTimer } = {}) {
    this.api = api;
    this.now = now;
    this.setTimer = setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = clearTimer ?? ((t) => clearTimeout(t));
    this.listeners = new Set();
    this.models = null;
    this.modelsLoading = null;
    this.resetUser();
  }

  // resetUser forgets everything about the signed-in user and stops polling.
  resetUser() {
    if (this.timer) this.clearTimer(this.timer);
    this.timer = null;
    this.me = null;
    this.records = new Map();
    this.order = [];
    this.listLoaded = false;
    this.listLoading = null;
    this.moreLoading = null;
    this.nextCursor = '';
    this.pagesLoaded = 0;
    this.detailLoading = new Map();
    this.backoff = 0;
    this.poll = { active: false, nextAt: 0, error: null };
    this.generation = (this.generation ?? 0) + 1;
    this.emit({ type: 'reset' });
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(change) {
    for (const fn of [...this.listeners]) {
      try {
        fn(change);
      } catch (e) {
        console.error(e);
      }
    }
  }

  // --- user and balance ---

  async loadMe(creds) {
    const gen = this.generation;
    const me = await this.api.me(creds);
    if (gen !== this.generation) return me; // signed out meanwhile
    this.me = me;
    this.emit({ type: 'me' });
    return me;
  }

  setBalance(balance) {
    if (!this.me) return;
    this.me = { ...this.me, balance };
    this.emit({ type: 'me' });
  }

  // --- models (public, loaded once) ---

  async loadModels(force = false) {
    if (this.models && !force) return this.models;
    if (!this.modelsLoading) {
      this.modelsLoading = this.api
        .models()
        .then((list) => {
          this.models = Array.isArray(list) ? list : [];
          this.emit({ type: 'models' });
          return this.models;
        })
        .finally(() => {
          this.modelsLoading = null;
        });
    }
    return this.modelsLoading;
  }

  model(id) {
    return this.models?.find((m) => m.id === id) ?? null;
  }

  // --- predictions ---

  get list() {
    return this.order.map((id) => this.records.get(id));
  }

  get(id) {
    return this.records.get(id) ?? null;
  }

  pending() {
    return [...this.records.values()].filter((r) => r.status === 'pending');
  }

  // unsettled lists what polling waits for: pending predictions and loaded
  // details that are behind their record's status.
  unsettled() {
    return [...this.records.values()].filter((r) => r.status === 'pending' || detailsBehind(r));
  }

  // merge applies a summary (from the list or a details response) unless it
  // is older than what is known: a final status is never undone.
  merge(s) {
    let rec = this.records.get(s.id);
    if (!rec) {
      rec = { id: s.id, detail: null };
      this.records.set(s.id, rec);
    } else if (rank(s.status) < rank(rec.status)) {
      return rec;
    }
    for (const k of SUMMARY_FIELDS) if (s[k] !== undefined) rec[k] = s[k];
    return rec;
  }

  // refreshList loads the first page of GET /predictions, keeping the older
  // predictions that loadMore added below it, then re-fetches the details of
  // every loaded prediction whose status changed, and (re)schedules polling.
  async refreshList() {
    if (this.listLoading) return this.listLoading;
    const gen = this.generation;
    this.listLoading = (async () => {
      const { items, next } = await this.api.predictions({ limit: PAGE_SIZE });
      if (gen !== this.generation) return;
      const first = items.map((s) => this.merge(s).id);
      const seen = new Set(first);
      if (this.pagesLoaded <= 1) {
        this.order = first;
        this.nextCursor = next;
        this.pagesLoaded = 1;
      } else {
        // Older pages stay, after the fresh first page; their cursor still
        // points past the last of them.
        this.order = [...first, ...this.order.filter((id) => !seen.has(id))];
      }
      this.listLoaded = true;
      this.listLoadedAt = this.now();
      this.emit({ type: 'list' });
      const stale = [...this.records.values()].filter((r) => detailsBehind(r));
      await Promise.all(stale.map((r) => this.loadPrediction(r.id).catch(() => {})));
    })().finally(() => {
      this.listLoading = null;
    });
    return this.listLoading;
  }

  // hasMore says whether the server has older predictions than those loaded.
  get hasMore() {
    return this.listLoaded && this.nextCursor !== '';
  }

  // loadMore appends the next page of GET /predictions, following the
  // X-Next-Cursor of the last page loaded.
  async loadMore() {
    if (this.moreLoading) return this.moreLoading;
    if (!this.hasMore) return;
    const gen = this.generation;
    const cursor = this.nextCursor;
    this.moreLoading = (async () => {
      const { items, next } = await this.api.predictions({ limit: PAGE_SIZE, cursor });
      if (gen !== this.generation) return;
      const have = new Set(this.order);
      for (const s of items) {
        this.merge(s);
        if (!have.has(s.id)) this.order.push(s.id);
      }
      this.nextCursor = next;
      this.pagesLoaded += 1;
      this.emit({ type: 'list' });
      this.ensurePolling();
    })().finally(() => {
      this.moreLoading = null;
    });
    return this.moreLoading;
  }

  // loadPrediction loads GET /predict/{id} into the record (status included).
  // Concurrent calls for one id share a request.
  loadPrediction(id) {
    const inflight = this.detailLoading.get(id);
    if (inflight) return inflight;
    const p = this.fetchPrediction(id).finally(() => this.detailLoading.delete(id));
    this.detailLoading.set(id, p);
    return p;
  }

  async fetchPrediction(id) {
    const gen = this.generation;
    const d = await this.api.prediction(id);
    if (gen !== this.generation) return null;
    const rec = this.records.get(id);
    if (rec && rank(d.status) < rank(rec.status)) {
      // Older than what the list already says (a lagging read): keep the
      // record as it is; the next poll fetches the details again.
      rec.detailWanted = true;
      this.emit({ type: 'prediction', id });
      this.ensurePolling();
      return rec;
    }
    const merged = this.merge(d);
    merged.detail = d;
    merged.detailWanted = true;
    this.emit({ type: 'prediction', id });
    if (d.status === 'pending') this.ensurePolling();
    return merged;
  }

  // --- polling ---

  // startPolling polls soon, with the backoff reset to 1 s (after a submit
  // or a manual refresh).
  startPolling() {
    this.backoff = 0;
    this.schedule();
  }

  // ensurePolling starts polling if it is not already running.
  ensurePolling() {
    if (!this.timer) this.schedule();
  }

  stopPolling() {
    if (this.timer) this.clearTimer(this.timer);
    this.timer = null;
    this.backoff = 0;
    this.poll = { ...this.poll, active: false, nextAt: 0 };
    this.emit({ type: 'poll' });
  }

  // nextDelay is the next backoff step, shortened so the poll lands just
  // after the earliest pending prediction is due.
  nextDelay() {
    this.backoff = this.backoff ? Math.min(this.backoff * 2, POLL_MAX_MS) : POLL_MIN_MS;
    let delay = this.backoff;
    const now = this.now();
    const due = this.pending()
      .map(dueAt)
      .filter((t) => t > now);
    if (due.length > 0) delay = Math.min(delay, Math.max(POLL_MIN_MS, Math.min(...due) - now + 300));
    return delay;
  }

  schedule() {
    if (this.timer) this.clearTimer(this.timer);
    this.timer = null;
    if (this.unsettled().length === 0) {
      this.backoff = 0;
      this.poll = { ...this.poll, active: false, nextAt: 0 };
      this.emit({ type: 'poll' });
      return;
    }
    const delay = this.nextDelay();
    const gen = this.generation;
    this.poll = { ...this.poll, active: true, nextAt: this.now() + delay };
    this.timer = this.setTimer(() => this.tick(gen), delay);
    this.emit({ type: 'poll' });
  }

  // due lists what the next poll fetches: unsettled predictions, the
  // earliest due first, at most POLL_MAX_PER_TICK of them; those left out
  // come first next time, since the ones polled drop out once final.
  due() {
    const list = this.unsettled();
    const due = (r) => (Number.isNaN(dueAt(r)) ? 0 : dueAt(r));
    list.sort((a, b) => (a.polledAt ?? 0) - (b.polledAt ?? 0) || due(a) - due(b));
    return list.slice(0, POLL_MAX_PER_TICK);
  }

  async tick(gen) {
    this.timer = null;
    if (gen !== this.generation) return;
    const batch = this.due();
    const at = this.now();
    for (const r of batch) r.polledAt = at;
    const results = await Promise.allSettled(batch.map((r) => this.loadPrediction(r.id)));
    if (gen !== this.generation) return;
    const failed = results.find((r) => r.status === 'rejected');
    this.poll = { ...this.poll, error: failed ? failed.reason : null };
    if (this.timer) return;
    this.schedule();
  }
}
