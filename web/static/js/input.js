// Prediction input on the client. A CSV file is the server's to check: it is
// sent as it is (text/csv) and the server names the first bad row and
// column; here it only gets a light preview of its first rows. Typed JSON is
// checked here as the user types, every problem named by row and field.
// Pure functions: no DOM, so Node's test runner can check them too.

export const MAX_ROWS = 10_000; // rows in one prediction (API limit)
export const MAX_BODY_BYTES = 6_000_000; // request body (API limit: 6 MB, room left for the Lambda event around it)

function clip(s, n = 24) {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function detectDelimiter(text) {
  const end = text.search(/\r|\n/);
  const first = end < 0 ? text : text.slice(0, end);
  let best = ',';
  let bestCount = 0;
  for (const d of [',', ';', '\t']) {
    const count = first.split(d).length - 1;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

// parseCSV splits text into records (RFC 4180: quoted fields may hold the
// delimiter, doubled quotes and line breaks). Blank lines are skipped. Each
// record keeps the line it starts on, for messages.
export function parseCSV(text) {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const delimiter = detectDelimiter(text);
  const records = [];
  let fields = [];
  let field = '';
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let quoteLine = 0;
  const push = () => {
    fields.push(field);
    field = '';
    if (!(fields.length === 1 && fields[0].trim() === '')) records.push({ fields, line: recordLine });
    fields = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field.trim() === '') {
      inQuotes = true;
      quoteLine = line;
      field = '';
    } else if (c === delimiter) {
      fields.push(field);
      field = '';
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      push();
      line++;
      recordLine = line;
    } else {
      field += c;
    }
  }
  if (inQuotes) return { error: `a quoted field that starts on line ${quoteLine} is never closed`, records: [], delimiter };
  if (field !== '' || fields.length > 0) push();
  return { records, delimiter };
}

function fatal(message) {
  return { rows: [], errors: [{ row: null, field: null, message }], columns: [], ignored: [], total: 0 };
}

export const PREVIEW_ROWS = 5; // rows of a CSV file shown before it is sent
export const PREVIEW_BYTES = 64 * 1024; // read from the start of the file for the preview

// previewCSV shows the start of a CSV file as the user picked it: the
// header and the first maxRows records, as text. head is the start of the
// file (PREVIEW_BYTES of it); complete says whether it is the whole file,
// so a record cut off at the end of head is not shown. Nothing is checked
// or converted: the server does that for every row when the file is sent.
export function previewCSV(head, { complete = true, maxRows = PREVIEW_ROWS } = {}) {
  let text = head;
  if (!complete) {
    const cut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
    text = cut < 0 ? '' : text.slice(0, cut + 1);
  }
  const parsed = parseCSV(text);
  const records = parsed.error ? [] : parsed.records;
  if (records.length === 0) return { header: [], rows: [], more: !complete };
  const header = records[0].fields.map((f) => f.trim());
  const data = records.slice(1);
  return {
    header,
    rows: data.slice(0, maxRows).map((r) => r.fields),
    more: data.length > maxRows || !complete,
  };
}

function describeType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `text ("${clip(v)}")`;
  if (typeof v === 'boolean') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}

// rowsFromJSON checks typed JSON: one object or an array of objects, each
// with every feature as a finite number. inputData is what is sent, as typed.
export function rowsFromJSON(text, features) {
  if (text.trim() === '') return { rows: [], errors: [], columns: features.slice(), ignored: [], total: 0 };
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fatal(`This is not valid JSON: ${e.message}.`);
  }
  let list;
  if (Array.isArray(value)) list = value;
  else if (value !== null && typeof value === 'object') list = [value];
  else return fatal('Expected an object like {"feature_0": 0.1, …} or an array of such objects.');
  if (list.length === 0) return fatal('The array is empty: add at least one row.');
  if (list.length > MAX_ROWS) {
    return fatal(`There are ${list.length.toLocaleString('en-US')} rows; one prediction takes at most ${MAX_ROWS.toLocaleString('en-US')}.`);
  }
  const rows = [];
  const errors = [];
  list.forEach((item, i) => {
    const n = i + 1;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      errors.push({ row: n, field: null, message: `is ${describeType(item)}, not an object` });
      rows.push({});
      return;
    }
    for (const f of features) {
      const v = item[f];
      if (v === undefined) errors.push({ row: n, field: f, message: 'is missing' });
      else if (typeof v !== 'number') errors.push({ row: n, field: f, message: `must be a number, not ${describeType(v)}` });
      else if (!Number.isFinite(v)) errors.push({ row: n, field: f, message: 'is not a finite number' });
    }
    rows.push(item);
  });
  const extra = new Set();
  for (const r of rows) for (const k of Object.keys(r)) if (!features.includes(k)) extra.add(k);
  return { rows, errors, columns: features.slice(), ignored: [...extra], total: rows.length, inputData: value };
}

// exampleJSON is a valid two-row input for the features.
export function exampleJSON(features) {
  const row = (k) => Object.fromEntries(features.map((f, i) => [f, Number(((i + 1) * 0.1 * k).toFixed(2))]));
  return JSON.stringify([row(1), row(2)], null, 2);
}

// formatIssue(e) → "Row 3 (line 4), feature_2: is missing".
export function formatIssue(e) {
  if (e.row === null || e.row === undefined) return e.message;
  const where = e.line ? `Row ${e.row} (line ${e.line})` : `Row ${e.row}`;
  return e.field ? `${where}, ${e.field}: ${e.message}` : `${where}: ${e.message}`;
}

// bodyBytes is the size of the request body for input data, in bytes.
export function bodyBytes(modelID, inputData) {
  return new TextEncoder().encode(JSON.stringify({ model_id: modelID, input_data: inputData })).length;
}
