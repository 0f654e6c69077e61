// A paged data table: renders one page of rows at a time, so a prediction
// of 10,000 rows stays fast, with keyboard-usable Previous/Next buttons.

import { h } from './dom.js';

// pagedTable renders rowCount rows through cell(i, column), which returns a
// string or {text, value, invalid, title}. Columns: {key, label, numeric}.
// The first column is the row header (th scope=row).
// totalLabel replaces the row count in "Rows 1–5 of …" (e.g. for a preview).
export function pagedTable({ caption, columns, rowCount, cell, pageSize = 50, id, totalLabel }) {
  let page = 0;
  const pages = Math.max(1, Math.ceil(rowCount / pageSize));
  const tbody = h('tbody');
  const status = h('span', { class: 'pager-status', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'button secondary small', on: { click: () => go(page - 1) } }, '← Previous');
  const next = h('button', { type: 'button', class: 'button secondary small', on: { click: () => go(page + 1) } }, 'Next →');
  const table = h(
    'table',
    { class: 'data', id },
    h('caption', null, caption),
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)))),
    tbody,
  );

  function render() {
    const start = page * pageSize;
    const end = Math.min(rowCount, start + pageSize);
    const trs = [];
    for (let i = start; i < end; i++) {
      trs.push(
        h(
          'tr',
          null,
          columns.map((c, j) => {
            let v = cell(i, c);
            if (typeof v !== 'object' || v === null) v = { text: v };
            return h(
              j === 0 ? 'th' : 'td',
              {
                scope: j === 0 ? 'row' : null,
                class: [c.numeric && 'num', v.invalid && 'invalid'],
                title: v.title,
                dataset: { col: c.key, row: String(i + 1), ...(v.value !== undefined ? { value: String(v.value) } : {}) },
              },
              v.text ?? '',
            );
          }),
        ),
      );
    }
    tbody.replaceChildren(...trs);
    status.textContent = rowCount === 0 ? 'No rows' : `Rows ${start + 1}–${end} of ${totalLabel ?? rowCount.toLocaleString('en-US')}`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  function go(p) {
    page = Math.min(pages - 1, Math.max(0, p));
    render();
  }

  render();
  const scroll = h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': caption }, table);
  return h('div', { class: 'paged' }, scroll, h('div', { class: ['pager', pages === 1 && 'single'] }, pages > 1 ? prev : null, status, pages > 1 ? next : null));
}
