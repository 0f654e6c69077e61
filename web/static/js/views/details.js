// One prediction: its input and output as a table, a chart of the predicted
// values, the reason a failed one failed, and the CSV download through the
// presigned link (csv_url) of a freshly loaded copy.

import { predictionChart, summary } from '../chart.js';
import { add, h, replace } from '../dom.js';
import { formatCell, formatDateTime, formatMoney, formatQuality, formatValue, plural, shortID } from '../format.js';
import { dueAt } from '../store.js';
import { pagedTable } from '../table.js';
import { busy, errorRegion, every, modelName, pageHeading, showError, statusBadge, statusRegion, waitingText } from './common.js';

function inputRows(input) {
  if (Array.isArray(input)) return input;
  if (input && typeof input === 'object') return [input];
  return [];
}

function inputColumns(rows, features) {
  const cols = [...(features ?? [])];
  for (const r of rows.slice(0, 200)) {
    if (r && typeof r === 'object') for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  }
  return cols.slice(0, 40);
}

function meta(store, rec) {
  const item = (label, ...value) => [h('dt', null, label), h('dd', null, ...value)];
  const price =
    rec.status === 'failed' || rec.status === 'canceled'
      ? [formatMoney(rec.cost), h('span', { class: 'muted' }, ' (refunded)')]
      : [formatMoney(rec.cost)];
  return h(
    'dl',
    { class: 'meta' },
    item('Model', h('span', { id: 'detail-model' }, modelName(store, rec.model_id))),
    item('Rows', h('span', { id: 'detail-rows' }, rec.rows?.toLocaleString('en-US') ?? '')),
    item('Price', ...price),
    item('Created', h('time', { datetime: rec.created_at }, formatDateTime(rec.created_at))),
    rec.status === 'pending' ? null : item({ completed: 'Finished', canceled: 'Canceled at' }[rec.status] ?? 'Failed at', h('time', { datetime: rec.updated_at }, formatDateTime(rec.updated_at))),
    item('ID', h('span', { class: 'mono small' }, rec.id)),
    rec.detail?.webhook ? item('Webhook', h('span', { id: 'detail-webhook' }, webhookText(rec.detail.webhook))) : null,
  );
}

// webhookText says where the webhook goes and how its delivery went.
function webhookText(w) {
  const state = w.delivered
    ? `delivered (HTTP ${w.last_status})`
    : w.given_up
      ? `given up after ${plural(w.attempts, 'attempt')}`
      : w.attempts
        ? `${plural(w.attempts, 'attempt')} so far, last ${w.last_status ? `HTTP ${w.last_status}` : w.last_error || 'failed'}; retrying`
        : 'sent when the prediction ends';
  return `${w.url} — ${state}`;
}

function pendingBox(rec) {
  const created = Date.parse(rec.created_at);
  const due = dueAt(rec);
  const total = Math.max(1, due - created);
  const progress = h('progress', { max: String(total), value: String(Math.min(total, Date.now() - created)), 'aria-label': 'Time waited' });
  const text = h('p', { class: 'waiting', id: 'detail-waiting' }, waitingText(rec));
  const box = h(
    'div',
    { class: 'callout callout-pending' },
    h('h2', null, 'Waiting for the model'),
    text,
    Number.isNaN(due) ? null : progress,
    h('p', { class: 'muted small' }, 'This page checks for the result by itself; you can also press Refresh.'),
  );
  box.tick = () => {
    text.textContent = waitingText(rec);
    progress.value = Math.min(total, Date.now() - created);
  };
  return box;
}

// omittedNote explains input rows the API did not return.
function omittedNote(d) {
  return h(
    'p',
    { class: 'muted', id: 'input-omitted' },
    d.files_expired
      ? 'The rows and results of this prediction are no longer kept: they expire after a retention period.'
      : 'The input rows are too large to show here; the CSV download has them, with the predictions.',
  );
}

function resultSection(store, rec, d) {
  const rows = inputRows(d.input_data);
  const model = store.model(rec.model_id);
  const preds = d.output_data?.predictions ?? [];
  const cols = d.input_data_omitted ? [] : inputColumns(rows, model?.features);
  const s = summary(preds);
  const q = d.output_data?.quality;
  const stats = h(
    'dl',
    { class: 'stats' },
    [
      ['Values', preds.length.toLocaleString('en-US')],
      ['Min', formatValue(s.min)],
      ['Mean', formatValue(s.mean)],
      ['Max', formatValue(s.max)],
      q ? ['Model quality', formatQuality(q)] : null,
    ]
      .filter(Boolean)
      .map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v))),
  );
  // The prediction comes right after the row number, so it stays in view
  // on a narrow screen where the inputs scroll sideways.
  const columns = [
    { key: 'row', label: '#', numeric: true },
    { key: 'prediction', label: 'prediction', numeric: true },
    ...cols.map((c) => ({ key: c, label: c, numeric: true, input: true })),
  ];
  const table = pagedTable({
    id: 'result-table',
    caption: 'Input rows and predicted values',
    columns,
    rowCount: Math.max(rows.length, preds.length),
    cell(i, c) {
      if (c.key === 'row') return String(i + 1);
      if (c.key === 'prediction') {
        const v = preds[i];
        return v === undefined ? '' : { text: formatValue(v), value: v, title: String(v) };
      }
      return formatCell(rows[i]?.[c.key]);
    },
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'results-title' },
    h('h2', { id: 'results-title' }, 'Results'),
    stats,
    preds.length
      ? predictionChart(preds, {
          caption: `Predicted value by row (${plural(preds.length, 'row')})`,
          width: (document.getElementById('main')?.clientWidth ?? 640) - 64,
        })
      : null,
    table,
  );
}

function inputSection(store, rec, d) {
  if (d.input_data_omitted) {
    return h('section', { class: 'card', 'aria-labelledby': 'input-title' }, h('h2', { id: 'input-title' }, 'Input'), omittedNote(d));
  }
  const rows = inputRows(d.input_data);
  const cols = inputColumns(rows, store.model(rec.model_id)?.features);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'input-title' },
    h('h2', { id: 'input-title' }, 'Input'),
    pagedTable({
      id: 'input-table',
      caption: 'Input rows as submitted',
      columns: [{ key: 'row', label: '#', numeric: true }, ...cols.map((c) => ({ key: c, label: c, numeric: true }))],
      rowCount: rows.length,
      cell: (i, c) => (c.key === 'row' ? String(i + 1) : formatCell(rows[i]?.[c.key])),
    }),
  );
}

export function render(root, { store, params, flash }) {
  const id = params[0];
  const title = pageHeading(`Prediction ${shortID(id)}`);
  const badgeSlot = h('span', { class: 'title-badge', id: 'detail-status' });
  title.append(' ', badgeSlot);
  const error = errorRegion('details-error');
  error.hidden = true;
  const status = statusRegion('details-status');
  const refresh = h('button', { type: 'button', class: 'button secondary', id: 'refresh-prediction' }, 'Refresh');
  const download = h('button', { type: 'button', class: 'button primary', id: 'download-csv', hidden: true }, 'Download CSV');
  const cancel = h('button', { type: 'button', class: 'button secondary', id: 'cancel-prediction', hidden: true }, 'Cancel prediction');
  const body = h('div', { class: 'details-body' }, h('p', { class: 'muted' }, 'Loading the prediction…'));
  let rendered = '';
  let pending = null;

  function draw() {
    const rec = store.get(id);
    if (!rec || !rec.detail) return;
    const d = rec.detail;
    // Render only from details that agree with the record's status, so the
    // list and this view never show two different states.
    const key = `${rec.status}|${d.status}|${d.output_data ? 1 : 0}|${store.models ? 1 : 0}`;
    if (key === rendered) return;
    rendered = key;
    replace(badgeSlot, statusBadge(rec.status));
    download.hidden = rec.status !== 'completed';
    cancel.hidden = rec.status !== 'pending';
    pending = null;
    const parts = [h('section', { class: 'card', 'aria-label': 'Summary' }, meta(store, rec))];
    if (d.status !== rec.status) {
      parts.push(h('p', { class: 'muted' }, 'Loading the latest result…'));
    } else if (rec.status === 'pending') {
      pending = pendingBox(rec);
      parts.push(pending, inputSection(store, rec, d));
    } else if (rec.status === 'failed') {
      parts.push(
        h(
          'div',
          { class: 'callout callout-failed', id: 'failure' },
          h('h2', null, 'This prediction failed'),
          h('p', { id: 'failure-reason' }, d.error || rec.error || 'No reason was given.'),
          h('p', null, `The charge of ${formatMoney(rec.cost)} was refunded to your balance.`),
        ),
        inputSection(store, rec, d),
      );
    } else if (rec.status === 'canceled') {
      parts.push(
        h(
          'div',
          { class: 'callout', id: 'canceled' },
          h('h2', null, 'This prediction was canceled'),
          h('p', null, `The charge of ${formatMoney(rec.cost)} was refunded to your balance.`),
        ),
        inputSection(store, rec, d),
      );
    } else if (d.files_expired) {
      download.hidden = true;
      parts.push(omittedNote(d));
    } else {
      if (d.input_data_omitted) parts.push(omittedNote(d));
      parts.push(resultSection(store, rec, d));
    }
    replace(body, parts);
  }

  async function load() {
    showError(error, null);
    try {
      await store.loadModels().catch(() => {});
      await store.loadPrediction(id);
      draw();
    } catch (err) {
      showError(error, err);
      if (!store.get(id)?.detail) replace(body, h('p', null, h('a', { href: '#/history' }, 'Back to all predictions')));
    }
  }

  refresh.addEventListener('click', () =>
    busy(refresh, 'Refreshing…', async () => {
      await load();
      if (!error.textContent) status.textContent = `Refreshed at ${new Date().toLocaleTimeString()}.`;
    }),
  );

  cancel.addEventListener('click', () =>
    busy(cancel, 'Canceling…', async () => {
      showError(error, null);
      try {
        await store.api.cancel(id);
        status.textContent = 'The prediction was canceled and its charge refunded.';
      } catch (err) {
        showError(error, err); // 409: it finished meanwhile
      }
      await store.loadPrediction(id).catch(() => {});
      await store.loadMe().catch(() => {});
    }),
  );

  download.addEventListener('click', () =>
    busy(download, 'Preparing…', async () => {
      showError(error, null);
      try {
        // csv_url is short-lived: fetch a fresh one for every download.
        const rec = await store.loadPrediction(id);
        const url = rec?.detail?.csv_url;
        if (!url) throw new Error('The server did not provide a download link for this prediction.');
        const a = h('a', { href: url, download: `prediction-${id}.csv`, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
        status.textContent = 'The CSV download has started.';
      } catch (err) {
        showError(error, err);
      }
    }),
  );

  add(
    root,
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/history' }, '← All predictions')),
    h('div', { class: 'page-head' }, title, h('div', { class: 'toolbar' }, refresh, cancel, download)),
    flash ? h('p', { class: ['notice', `notice-${flash.kind}`], role: 'status' }, flash.text) : null,
    error,
    status,
    body,
  );
  const unsubscribe = store.subscribe((c) => {
    if ((c.type === 'prediction' && c.id === id) || c.type === 'list' || c.type === 'models') draw();
  });
  const stopTick = every(1000, () => pending?.tick());
  load();
  return () => {
    unsubscribe();
    stopTick();
  };
}
