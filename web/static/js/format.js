// Formatting shared by every view (and by the end-to-end test, which checks
// that the page shows the API's numbers through these same functions).

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

// formatMoney(1234.5) → "1,234.50". Amounts come from the API as exact
// decimals with at most two places.
export function formatMoney(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  return money.format(n);
}

// formatValue shows a predicted value with 6 significant digits, switching
// to exponent form for very large or very small magnitudes:
// 0.123456789 → "0.123457", 1234.5 → "1234.5", 1e-7 → "1.0000e-7".
export function formatValue(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return x.toExponential(4);
  return String(Number(x.toPrecision(6)));
}

// formatCell shows an input value as submitted.
export function formatCell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const shortDateTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export function formatDateTime(iso) {
  const d = iso instanceof Date ? iso : new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : dateTime.format(d);
}

// formatShortDateTime is for tables: "Nov 26, 04:30:01 AM".
export function formatShortDateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : shortDateTime.format(d);
}

export function formatTime(d) {
  return Number.isNaN(d.getTime()) ? '' : timeOnly.format(d);
}

// formatDuration(65_000) → "1 min 5 s"; under a minute in whole seconds.
export function formatDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const hr = Math.floor(m / 60);
  return m % 60 ? `${hr} h ${m % 60} min` : `${hr} h`;
}

// formatQuality({metric: 'r2', value: 0.93}) → "R² 0.930".
export function formatQuality(q) {
  if (!q || typeof q.value !== 'number') return '';
  const names = { r2: 'R²', rmse: 'RMSE', mae: 'MAE', accuracy: 'Accuracy', auc: 'AUC' };
  const name = names[String(q.metric).toLowerCase()] ?? q.metric;
  return `${name} ${q.value.toFixed(3)}`;
}

export function shortID(id) {
  return String(id ?? '').slice(0, 8);
}

export function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
