// Parsing and checking prediction input before anything is sent or charged:
// a CSV file or typed JSON becomes rows of numbers, and every problem is
// reported with its row number and field, the way the API would name it.
// Pure functions: no DOM, so Node's test runner can check them too.

export const MAX_ROWS = 10_000; // rows in one prediction (API limit)
export const MAX_BODY_BYTES = 6_000_000; // request body (API limit: 6 MB, room left for the Lambda event around it)

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function clip(s, n = 24) {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

// parseNumber reads one CSV cell as a finite number.
export function parseNumber(cell) {
  const t = (cell ?? '').trim();
  if (t === '') return { error: 'is missing' };
  if (!NUMBER.test(t)) return { error: `is not a number ("${clip(t)}")` };
  const v = Number(t);
  if (!Number.isFinite(v)) return { error: 'is not a finite number' };
  return { value: v };
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

// rowsFromCSV turns CSV text into rows for the model's features. Rows hold
// numbers where a cell is valid and the raw text where it is not; errors
// name the 1-based data row (the first row after the header is row 1), its
// line in the file and the field. Columns the model does not use are listed
// in ignored and not sent.
export function rowsFromCSV(text, features) {
  const parsed = parseCSV(text);
  if (parsed.error) return fatal(`The file is not valid CSV: ${parsed.error}.`);
  const { records } = parsed;
  if (records.length === 0) return fatal('The file is empty.');
  const header = records[0].fields.map((s) => s.trim());
  const missing = features.filter((f) => !header.includes(f));
  if (missing.length > 0) {
    return fatal(
      `The header has no column ${missing.join(', ')}. ` +
        `It must name every feature of the model: ${features.join(', ')}.`,
    );
  }
  const doubled = features.filter((f) => header.indexOf(f) !== header.lastIndexOf(f));
  if (doubled.length > 0) return fatal(`The header names ${doubled.join(', ')} more than once.`);
  const data = records.slice(1);
  if (data.length === 0) return fatal('The file has a header but no rows.');
  if (data.length > MAX_ROWS) {
    return fatal(`The file has ${data.length.toLocaleString('en-US')} rows; one prediction takes at most ${MAX_ROWS.toLocaleString('en-US')}.`);
  }
  const index = features.map((f) => header.indexOf(f));
  const rows = [];
  const errors = [];
  data.forEach((rec, i) => {
    const row = {};
    features.forEach((f, j) => {
      const cell = rec.fields[index[j]];
      const { value, error } = parseNumber(cell);
      if (error) {
        row[f] = cell ?? '';
        errors.push({ row: i + 1, line: rec.line, field: f, message: error });
      } else {
        row[f] = value;
      }
    });
    rows.push(row);
  });
  const ignored = header.filter((c) => c !== '' && !features.includes(c));
  return { rows, errors, columns: features.slice(), ignored, total: rows.length, inputData: rows };
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
