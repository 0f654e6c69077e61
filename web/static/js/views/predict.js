// The prediction form: pick a model, upload a CSV file or type JSON, and
// see the price before anything is charged. A CSV file is sent as it is
// (text/csv): the page shows its first rows, and the server, which checks
// every row, names the first bad row and column, charging nothing. Typed
// JSON is checked here as it is typed, every problem named.

import { h, replace } from '../dom.js';
import { formatCell, formatMoney, formatQuality, plural } from '../format.js';
import { MAX_BODY_BYTES, PREVIEW_BYTES, PREVIEW_ROWS, bodyBytes, exampleJSON, formatIssue, previewCSV, rowsFromJSON } from '../input.js';
import { pagedTable } from '../table.js';
import { busy, errorRegion, field, pageHeading, showError } from './common.js';

const MAX_ISSUES_SHOWN = 100;

export function render(root, { store, api, navigate, params }) {
  const select = h('select', { name: 'model' }, h('option', { value: '' }, 'Loading models…'));
  const modelField = field({ id: 'predict-model', label: 'Model', input: select });
  const modelInfo = h('p', { class: 'hint model-info', id: 'model-info' });

  const modeCSV = h('input', { type: 'radio', name: 'mode', value: 'csv', id: 'mode-csv', checked: true });
  const modeJSON = h('input', { type: 'radio', name: 'mode', value: 'json', id: 'mode-json' });
  const modes = h(
    'fieldset',
    { class: 'modes' },
    h('legend', null, 'Input'),
    h('div', { class: 'segmented' }, h('span', null, modeCSV, h('label', { for: 'mode-csv' }, 'Upload a CSV file')), h('span', null, modeJSON, h('label', { for: 'mode-json' }, 'Type JSON'))),
  );

  const fileField = field({
    id: 'csv-file',
    label: 'CSV file',
    hint: 'A header row naming every model input (feature_0, feature_1, …), then one row per prediction; other columns are ignored. At most 10,000 rows and 6 MB. The server checks every row when you submit.',
    input: h('input', { type: 'file', accept: '.csv,text/csv', name: 'csv' }),
  });
  const jsonField = field({
    id: 'json-input',
    label: 'JSON input',
    hint: 'One object like {"feature_0": 0.1, …} or an array of such objects. Every input must be a number.',
    input: h('textarea', { name: 'json', rows: '9', spellcheck: 'false', autocomplete: 'off', class: 'mono' }),
  });
  const webhookField = field({
    id: 'webhook-url',
    label: 'Webhook URL (optional)',
    hint: 'An https address that receives the prediction, signed with your webhook secret (see the dashboard), when it ends.',
    input: h('input', { type: 'url', name: 'webhook_url', inputmode: 'url', autocomplete: 'off', maxlength: '2048', placeholder: 'https://' }),
  });
  const example = h('button', { type: 'button', class: 'button secondary small', id: 'json-example' }, 'Insert an example');
  const csvPanel = h('div', { class: 'panel', id: 'csv-panel' }, fileField.el);
  const jsonPanel = h('div', { class: 'panel', id: 'json-panel', hidden: true }, jsonField.el, example);

  const previewSummary = h('p', { class: 'preview-summary', id: 'preview-summary', role: 'status', 'aria-live': 'polite' }, 'Choose a file or type JSON to see the rows here.');
  const issues = h('ul', { class: 'issues', id: 'preview-errors', 'aria-label': 'Problems in the input' });
  const ignored = h('p', { class: 'hint', id: 'preview-ignored' });
  const tableSlot = h('div', { id: 'preview-table-slot' });
  const preview = h(
    'section',
    { class: 'card preview', 'aria-labelledby': 'preview-title', id: 'preview' },
    h('h2', { id: 'preview-title' }, 'Check before you pay'),
    previewSummary,
    issues,
    ignored,
    tableSlot,
  );

  const price = h('p', { class: 'price-summary', id: 'price-summary', 'aria-live': 'polite' });
  const error = errorRegion('predict-error');
  error.hidden = true;
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'predict-submit', disabled: true }, 'Submit');

  const form = h(
    'form',
    { class: 'form predict-form', novalidate: true, 'aria-labelledby': 'predict-title' },
    h('div', { class: 'card' }, modelField.el, modelInfo, modes, csvPanel, jsonPanel, webhookField.el),
    preview,
    h('div', { class: 'card pay' }, price, error, h('div', { class: 'actions' }, submit)),
  );

  const heading = pageHeading('New prediction');
  heading.id = 'predict-title';
  root.append(heading, form);

  let models = [];
  // The chosen file, sent as it is, and the preview of its first rows.
  let csv = { file: null, preview: null };
  let result = null;
  // The Idempotency-Key of the last submission that got no answer (network
  // error), reused only to resend exactly the same rows.
  let unanswered = null; // {body, key}: body identifies what was sent
  let jsonTimer = null;

  const model = () => models.find((m) => m.id === select.value) ?? null;
  const mode = () => (modeJSON.checked ? 'json' : 'csv');

  function showModel() {
    const m = model();
    if (!m) return replace(modelInfo);
    const q = m.quality ? formatQuality(m.quality) : 'quality not reported';
    replace(modelInfo, `${m.description || ''} `, h('span', { class: 'muted' }, `(${q}; inputs: ${(m.features ?? []).join(', ')})`));
  }

  function showPrice() {
    const m = model();
    const me = store.me;
    if (!m) return replace(price);
    const parts = [h('span', null, 'Price: '), h('strong', { id: 'price-value' }, formatMoney(m.cost)), ' for this prediction, whatever the number of rows.'];
    if (me) {
      if (me.balance >= m.cost) parts.push(` Your balance: ${formatMoney(me.balance)} → ${formatMoney(me.balance - m.cost)} after.`);
      else parts.push(h('span', { class: 'warn' }, ` Your balance of ${formatMoney(me.balance)} is below the price, so the prediction will be refused. `), h('a', { href: '#/dashboard' }, 'Top up first'), '.');
    }
    replace(price, parts);
    const ready = mode() === 'json' && result && result.total > 0 && result.errors.length === 0;
    submit.textContent = ready ? `Submit ${plural(result.total, 'row')} — pay ${formatMoney(m.cost)}` : `Submit — pay ${formatMoney(m.cost)}`;
  }

  // nothingToSend says what to give before anything can be submitted.
  function nothingToSend(message) {
    previewSummary.textContent = message;
    previewSummary.className = 'preview-summary';
    submit.disabled = true;
    showPrice();
  }

  function showCSV() {
    const m = model();
    const { file, preview } = csv;
    if (!file) return nothingToSend('Choose a CSV file to see its first rows here.');
    const shown = preview.rows.length;
    previewSummary.textContent =
      shown === 0
        ? `${file.name}: no rows to show. The server reads the whole file when you submit; nothing is charged if it is refused.`
        : `${file.name}: ${preview.more ? `the first ${plural(shown, 'row')}` : plural(shown, 'row')}. The server checks every row when you submit; if one is wrong it names it and nothing is charged.`;
    previewSummary.className = 'preview-summary';
    const unused = preview.header.filter((c) => c !== '' && !(m?.features ?? []).includes(c));
    if (m && unused.length > 0) ignored.textContent = `Not used by ${m.name}: ${unused.join(', ')}.`;
    if (shown > 0) {
      const columns = [{ key: 'row', label: '#', numeric: true }, ...preview.header.map((c, j) => ({ key: j, label: c || `(column ${j + 1})` }))];
      tableSlot.append(
        pagedTable({
          id: 'preview-table',
          caption: preview.more ? `The first ${plural(shown, 'row')} of ${file.name}` : `The rows of ${file.name}`,
          columns,
          rowCount: shown,
          pageSize: PREVIEW_ROWS,
          totalLabel: preview.more ? 'more in the file' : undefined,
          cell(i, c) {
            return { text: c.key === 'row' ? String(i + 1) : (preview.rows[i][c.key] ?? '') };
          },
        }),
      );
    }
    submit.disabled = !m;
    showPrice();
  }

  function showResult() {
    const m = model();
    replace(issues);
    replace(ignored);
    replace(tableSlot);
    if (mode() === 'csv') return showCSV();
    if (!result || (result.total === 0 && result.errors.length === 0)) {
      return nothingToSend('Type JSON or insert an example to see the rows here.');
    }
    const n = result.errors.length;
    if (n === 0) {
      previewSummary.textContent = `${plural(result.total, 'row')} ready to send. Nothing has been charged yet.`;
      previewSummary.className = 'preview-summary ok';
    } else {
      previewSummary.textContent =
        result.total > 0
          ? `${plural(n, 'problem')} in ${plural(result.total, 'row')}. Fix them before submitting; nothing has been charged.`
          : `${result.errors[0].message}`;
      previewSummary.className = 'preview-summary bad';
      if (result.total > 0) {
        replace(
          issues,
          result.errors.slice(0, MAX_ISSUES_SHOWN).map((e) => h('li', { dataset: { row: e.row ?? '', field: e.field ?? '' } }, formatIssue(e))),
          n > MAX_ISSUES_SHOWN ? h('li', { class: 'muted' }, `…and ${n - MAX_ISSUES_SHOWN} more.`) : null,
        );
      }
    }
    if (result.ignored.length > 0) ignored.textContent = `Not used by ${m?.name ?? 'this model'}: ${result.ignored.join(', ')}.`;
    if (result.total > 0) {
      const bad = new Set(result.errors.map((e) => `${e.row}:${e.field ?? ''}`));
      const columns = [{ key: 'row', label: '#', numeric: true }, ...result.columns.map((c) => ({ key: c, label: c, numeric: true }))];
      tableSlot.append(
        pagedTable({
          id: 'preview-table',
          caption: 'Rows to be sent',
          columns,
          rowCount: result.total,
          pageSize: 20,
          cell(i, c) {
            if (c.key === 'row') return { text: String(i + 1), invalid: bad.has(`${i + 1}:`) };
            return { text: formatCell(result.rows[i]?.[c.key]), invalid: bad.has(`${i + 1}:${c.key}`) };
          },
        }),
      );
    }
    submit.disabled = !(n === 0 && result.total > 0 && m);
    showPrice();
  }

  function validate() {
    const m = model();
    showError(error, null);
    if (!m || mode() === 'csv') {
      result = null;
    } else {
      result = rowsFromJSON(jsonField.input.value, m.features ?? []);
    }
    if (result && result.errors.length === 0 && result.total > 0 && bodyBytes(m.id, result.inputData) > MAX_BODY_BYTES) {
      result = { ...result, errors: [{ row: null, field: null, message: 'The input is larger than 6 MB, the most one request may carry. Split it into smaller files.' }] };
    }
    showResult();
  }

  select.addEventListener('change', () => {
    history.replaceState(null, '', `#/predict/${encodeURIComponent(select.value)}`);
    showModel();
    validate();
  });
  for (const r of [modeCSV, modeJSON]) {
    r.addEventListener('change', () => {
      csvPanel.hidden = mode() !== 'csv';
      jsonPanel.hidden = mode() !== 'json';
      validate();
    });
  }
  fileField.input.addEventListener('change', async () => {
    const file = fileField.input.files?.[0];
    fileField.setError('');
    csv = { file: null, preview: null };
    if (!file) return validate();
    if (file.size > MAX_BODY_BYTES) {
      fileField.setError(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; one request carries at most 6 MB. Split it into smaller files.`);
      return validate();
    }
    try {
      // Only the start of the file is read here; the server reads it all.
      const head = await file.slice(0, PREVIEW_BYTES).text();
      csv = { file, preview: previewCSV(head, { complete: file.size <= PREVIEW_BYTES }) };
    } catch (e) {
      fileField.setError(`Could not read ${file.name}: ${e.message}`);
    }
    validate();
  });
  jsonField.input.addEventListener('input', () => {
    clearTimeout(jsonTimer);
    jsonTimer = setTimeout(validate, 250);
  });
  example.addEventListener('click', () => {
    const m = model();
    jsonField.input.value = exampleJSON(m?.features ?? ['feature_0', 'feature_1', 'feature_2', 'feature_3', 'feature_4']);
    validate();
    jsonField.input.focus();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const m = model();
    validate();
    let body;
    let send;
    const hook = webhookField.input.value.trim();
    webhookField.setError(null);
    if (mode() === 'csv') {
      const { file } = csv;
      if (!m || !file) return;
      body = JSON.stringify([m.id, 'csv', file.name, file.size, file.lastModified, hook]);
      send = (key) => api.predictCSV(m.id, file, key, hook);
    } else {
      if (!m || !result || result.errors.length > 0 || result.total === 0) return;
      body = JSON.stringify([m.id, result.inputData, hook]);
      const { inputData } = result;
      send = (key) => api.predict(m.id, inputData, key, hook);
    }
    if (unanswered?.body !== body) unanswered = { body, key: newKey() };
    const { key } = unanswered;
    try {
      const res = await busy(submit, 'Submitting…', () => send(key));
      unanswered = null;
      const id = res.prediction_id;
      store.loadMe().catch(() => {});
      await store.loadPrediction(id).catch(() => {});
      store.startPolling();
      const text = res.replayed
        ? 'This submission had already been accepted: you were not charged again.'
        : `Prediction accepted: ${plural(res.rows, 'row')}, charged ${formatMoney(res.cost)}.`;
      navigate(`/predictions/${encodeURIComponent(id)}`, { message: { kind: 'info', text } });
    } catch (err) {
      if (err?.status !== 0) unanswered = null; // answered: a new submission is a new request
      showError(error, err);
      if ((err?.detail ?? '').includes('webhook_url')) webhookField.setError(err.detail);
      submit.disabled = false;
    }
  });

  const unsubscribe = store.subscribe((c) => {
    if (c.type === 'me') showPrice();
  });

  store
    .loadModels()
    .then((list) => {
      models = list;
      if (list.length === 0) {
        replace(select, h('option', { value: '' }, 'No models are published'));
        return;
      }
      replace(
        select,
        list.map((m) => h('option', { value: m.id }, `${m.name} — ${formatMoney(m.cost)}`)),
      );
      select.value = list.some((m) => m.id === params[0]) ? params[0] : list[0].id;
      showModel();
      validate();
    })
    .catch((err) => showError(error, err));
  store.loadMe().catch(() => {});

  return () => {
    clearTimeout(jsonTimer);
    unsubscribe();
  };
}

// newKey returns a random Idempotency-Key; crypto.randomUUID exists only in
// secure contexts (HTTPS, localhost), getRandomValues everywhere.
function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
