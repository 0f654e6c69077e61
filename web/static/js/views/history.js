// Prediction history, newest first, with status badges, a refresh button,
// a "Load more" button that follows the server's pages, and automatic
// checks of the pending predictions (see store.js).

import { add, h, replace } from '../dom.js';
import { formatDateTime, formatMoney, formatShortDateTime, formatTime, plural, shortID } from '../format.js';
import { busy, errorRegion, every, modelName, pageHeading, showError, statusBadge, waitingText } from './common.js';

// predictionTable is a keyed table of the store's predictions: rows are
// built once and updated in place, so focus and scroll survive updates.
export function predictionTable(store, { limit = Infinity, compact = false, caption = 'Your predictions, newest first' } = {}) {
  const columns = [
    ['id', 'Prediction'],
    ['model', 'Model'],
    ['rows', 'Rows', true],
    ['cost', 'Price', true],
    ['created', 'Created'],
    ['status', 'Status'],
  ].filter(([key]) => !compact || (key !== 'rows' && key !== 'cost'));
  const tbody = h('tbody');
  const rows = new Map();
  const table = h(
    'table',
    { class: 'data cards', id: limit === Infinity ? 'predictions-table' : 'recent-table' },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', null, h('tr', null, columns.map(([, label, num]) => h('th', { scope: 'col', class: num ? 'num' : null }, label)))),
    tbody,
  );
  const empty = h(
    'p',
    { class: 'empty' },
    'No predictions yet. ',
    h('a', { href: '#/predict' }, 'Make your first prediction'),
    '.',
  );
  const loading = h('p', { class: 'muted' }, 'Loading predictions…');
  const scroll = h('div', { class: 'table-scroll' }, table);
  const wrap = h('div', { class: 'prediction-list' }, loading);

  function statusCell(td, rec) {
    replace(
      td,
      statusBadge(rec.status),
      rec.status === 'pending' ? h('span', { class: 'waiting', dataset: { waiting: rec.id } }, waitingText(rec)) : null,
    );
    td.dataset.status = rec.status;
  }

  function build(rec) {
    const statusTd = h('td', { class: 'status-cell', dataset: { label: 'Status' } });
    statusCell(statusTd, rec);
    const tr = h(
      'tr',
      { dataset: { id: rec.id } },
      h(
        'th',
        { scope: 'row', dataset: { label: 'Prediction' } },
        h('a', { href: `#/predictions/${encodeURIComponent(rec.id)}`, class: 'mono', 'aria-label': `Prediction ${shortID(rec.id)}, details` }, shortID(rec.id)),
      ),
      h('td', { dataset: { label: 'Model', field: 'model' } }, modelName(store, rec.model_id)),
      compact ? null : h('td', { class: 'num', dataset: { label: 'Rows' } }, rec.rows === undefined ? '' : rec.rows.toLocaleString('en-US')),
      compact ? null : h('td', { class: 'num', dataset: { label: 'Price' } }, formatMoney(rec.cost)),
      h('td', { dataset: { label: 'Created' } }, h('time', { datetime: rec.created_at, title: formatDateTime(rec.created_at) }, formatShortDateTime(rec.created_at))),
      statusTd,
    );
    tr.statusTd = statusTd;
    return tr;
  }

  function update() {
    if (!store.listLoaded) return;
    const list = store.list.slice(0, limit);
    if (list.length === 0) {
      replace(wrap, empty);
      return;
    }
    if (wrap.firstChild !== scroll) replace(wrap, scroll);
    const keep = new Set();
    list.forEach((rec, i) => {
      keep.add(rec.id);
      let tr = rows.get(rec.id);
      if (!tr) {
        tr = build(rec);
        rows.set(rec.id, tr);
      } else {
        if (tr.statusTd.dataset.status !== rec.status) statusCell(tr.statusTd, rec);
        const model = tr.querySelector('[data-field="model"]');
        const name = modelName(store, rec.model_id);
        if (model.textContent !== name) model.textContent = name;
      }
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
    });
    for (const [id, tr] of rows) {
      if (!keep.has(id)) {
        tr.remove();
        rows.delete(id);
      }
    }
  }

  function tick() {
    for (const span of wrap.querySelectorAll('[data-waiting]')) {
      const rec = store.get(span.dataset.waiting);
      if (rec && rec.status === 'pending') span.textContent = waitingText(rec);
    }
  }

  update();
  return { el: wrap, update, tick };
}

// pollText describes the automatic checks in words.
export function pollText(store, now = Date.now()) {
  const { active, nextAt, error } = store.poll;
  const n = store.pending().length;
  if (error) {
    const again = active ? ` Trying again in ${Math.max(1, Math.ceil((nextAt - now) / 1000))} s.` : '';
    return `Could not check for updates: ${error.detail ?? error.message}.${again}`;
  }
  if (active) {
    return `${plural(n, 'prediction')} pending — checking again in ${Math.max(1, Math.ceil((nextAt - now) / 1000))} s.`;
  }
  if (store.listLoadedAt) return `Up to date as of ${formatTime(new Date(store.listLoadedAt))}. Nothing is pending.`;
  return '';
}

export function render(root, { store }) {
  const table = predictionTable(store);
  const error = errorRegion('history-error');
  error.hidden = true;
  const auto = h('p', { class: 'poll-status muted', id: 'poll-status', role: 'status' });
  const refresh = h('button', { type: 'button', class: 'button secondary', id: 'refresh-predictions' }, 'Refresh');
  const more = h('button', { type: 'button', class: 'button secondary', id: 'load-more', hidden: true }, 'Load more');
  const count = h('p', { class: 'muted', id: 'predictions-count', 'aria-live': 'polite' });
  const footer = h('div', { class: 'actions list-more' }, count, more);

  function showMore() {
    more.hidden = !store.hasMore;
    const n = store.list.length;
    count.textContent = store.listLoaded && n > 0 ? `Showing ${plural(n, 'prediction')}${store.hasMore ? '; older ones are on the server' : ', all of them'}.` : '';
  }
  more.addEventListener('click', async () => {
    showError(error, null);
    try {
      await busy(more, 'Loading…', () => store.loadMore());
    } catch (err) {
      showError(error, err);
    }
    showMore();
  });

  async function load(manual) {
    showError(error, null);
    try {
      await Promise.all([store.loadModels().catch(() => {}), store.refreshList()]);
      store.startPolling();
    } catch (err) {
      showError(error, err);
    }
    if (manual) auto.textContent = pollText(store);
  }
  refresh.addEventListener('click', () => busy(refresh, 'Refreshing…', () => load(true)));

  add(
    root,
    h(
      'div',
      { class: 'page-head' },
      pageHeading('Predictions'),
      h('div', { class: 'toolbar' }, refresh, h('a', { class: 'button primary', href: '#/predict' }, 'New prediction')),
    ),
    error,
    auto,
    table.el,
    footer,
  );
  const unsubscribe = store.subscribe((c) => {
    if (c.type === 'list' || c.type === 'prediction' || c.type === 'models') table.update();
    if (c.type === 'list' || c.type === 'reset') showMore();
    auto.textContent = pollText(store);
  });
  const stopTick = every(1000, () => {
    table.tick();
    auto.textContent = pollText(store);
  });
  load(false);
  return () => {
    unsubscribe();
    stopTick();
  };
}
