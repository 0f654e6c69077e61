// A small line-and-dot chart of predicted values by row, drawn as inline
// SVG (no library). It has a text summary for screen readers; the table
// next to it holds the exact numbers.

import { svg, h } from './dom.js';
import { formatValue } from './format.js';

function niceStep(range, count) {
  const raw = range / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return step * mag;
}

// ticks returns about count round values covering [min, max].
export function ticks(min, max, count = 4) {
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const out = [];
  for (let v = lo; v <= hi + step / 2; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function summary(values) {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: values.length ? sum / values.length : NaN };
}

// width is the drawing's own width in px: pass the space available so that
// labels keep their size on a narrow screen instead of shrinking with it.
export function predictionChart(values, { caption = 'Predicted value by row', width = 640 } = {}) {
  const W = Math.round(Math.max(300, Math.min(640, width)));
  const H = 240;
  const m = { l: 64, r: 16, t: 14, b: 36 };
  const n = values.length;
  const s = summary(values);
  const yt = ticks(s.min, s.max);
  const y0 = yt[0];
  const y1 = yt[yt.length - 1];
  const x = (i) => (n === 1 ? (m.l + W - m.r) / 2 : m.l + (i / (n - 1)) * (W - m.l - m.r));
  const y = (v) => H - m.b - ((v - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);

  const titleID = `chart-title-${Math.random().toString(36).slice(2, 8)}`;
  const descID = `${titleID}-desc`;
  const parts = [
    svg('title', { id: titleID }, caption),
    svg('desc', { id: descID }, `${n} values from ${formatValue(s.min)} to ${formatValue(s.max)}, mean ${formatValue(s.mean)}.`),
  ];
  for (const t of yt) {
    parts.push(svg('line', { class: 'grid', x1: m.l, x2: W - m.r, y1: y(t), y2: y(t) }));
    parts.push(svg('text', { class: 'tick', x: m.l - 8, y: y(t), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, formatValue(t)));
  }
  const xLabels = n === 1 ? [0] : [...new Set([0, Math.floor((n - 1) / 2), n - 1])];
  for (const i of xLabels) {
    parts.push(svg('text', { class: 'tick', x: x(i), y: H - m.b + 18, 'text-anchor': 'middle' }, String(i + 1)));
  }
  parts.push(svg('text', { class: 'axis-label', x: (m.l + W - m.r) / 2, y: H - 4, 'text-anchor': 'middle' }, 'row'));
  parts.push(svg('line', { class: 'axis', x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
  if (n > 1) {
    const step = Math.max(1, Math.floor(n / 2000)); // at most ~2000 line points
    const pts = [];
    for (let i = 0; i < n; i += step) pts.push(`${x(i).toFixed(1)},${y(values[i]).toFixed(1)}`);
    if ((n - 1) % step) pts.push(`${x(n - 1).toFixed(1)},${y(values[n - 1]).toFixed(1)}`);
    parts.push(svg('polyline', { class: 'series', points: pts.join(' ') }));
  }
  if (n <= 200) {
    values.forEach((v, i) => {
      parts.push(svg('circle', { class: 'dot', cx: x(i), cy: y(v), r: n <= 50 ? 4 : 2.5 }, svg('title', null, `Row ${i + 1}: ${formatValue(v)}`)));
    });
  }
  const chart = svg(
    'svg',
    { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleID} ${descID}`, preserveAspectRatio: 'xMidYMid meet' },
    parts,
  );
  return h('figure', { class: 'chart-figure' }, chart, h('figcaption', null, caption));
}
