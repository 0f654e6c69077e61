// Transactions: the account's ledger, newest first — every top-up, charge,
// refund and credit with the balance it left. Charges and refunds link to
// their prediction. Pages by the API's X-Next-Cursor.

import { add, h, replace } from '../dom.js';
import { formatMoney, formatShortDateTime } from '../format.js';
import { errorRegion, pageHeading, showError } from './common.js';

const PAGE = 50;

const TYPE_LABEL = { topup: 'Top-up', charge: 'Charge', refund: 'Refund', credit: 'Credit' };

// signedMoney shows a ledger amount with its sign: "+50.00", "−10.00".
export function signedMoney(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  return n < 0 ? `−${formatMoney(-n)}` : `+${formatMoney(n)}`;
}

export function entryRow(e) {
  const what = e.prediction_id
    ? h('a', { href: `#/predictions/${encodeURIComponent(e.prediction_id)}` }, `Prediction ${e.prediction_id.slice(0, 8)}`)
    : e.payment_id
      ? h('span', { class: 'mono', title: 'Stripe Checkout Session' }, e.payment_id)
      : '';
  return h(
    'tr',
    { dataset: { entry: e.id, type: e.type } },
    h('td', null, formatShortDateTime(e.created_at)),
    h('td', null, TYPE_LABEL[e.type] ?? e.type),
    h('td', { class: ['num', e.amount < 0 ? 'debit' : 'credit'] }, signedMoney(e.amount)),
    h('td', { class: 'num' }, formatMoney(e.balance_after)),
    h('td', null, what),
  );
}

export function render(root, { api }) {
  const error = errorRegion('transactions-error');
  error.hidden = true;
  const body = h('tbody', { id: 'transactions-body' });
  const empty = h('p', { class: 'muted', hidden: true }, 'No transactions yet: top up on the dashboard.');
  const more = h('button', { type: 'button', class: 'button secondary', id: 'transactions-more', hidden: true }, 'Load more');
  const table = h(
    'table',
    { class: 'data', id: 'transactions' },
    h('caption', { class: 'sr-only' }, 'Your balance changes, newest first'),
    h(
      'thead',
      null,
      h('tr', null, ['Date', 'Type', 'Amount', 'Balance after', 'For'].map((c) => h('th', { scope: 'col' }, c))),
    ),
    body,
  );
  add(root, pageHeading('Transactions'), error, h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Transactions' }, table), empty, h('div', { class: 'actions' }, more));

  let cursor = '';
  let alive = true;
  async function load() {
    more.disabled = true;
    try {
      const { items, next } = await api.transactions({ limit: PAGE, cursor });
      if (!alive) return;
      add(body, items.map(entryRow));
      cursor = next;
      more.hidden = !next;
      empty.hidden = body.children.length > 0;
      showError(error, null);
    } catch (err) {
      if (alive) showError(error, err);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', load);
  replace(body);
  load();
  return () => {
    alive = false;
  };
}
