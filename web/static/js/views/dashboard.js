// The dashboard: balance with a top-up form, recent predictions and the
// models at a glance.

import { add, h, replace } from '../dom.js';
import { formatMoney } from '../format.js';
import { busy, errorRegion, every, field, pageHeading, showError, statusRegion } from './common.js';
import { predictionTable } from './history.js';
import { modelCard } from './models.js';
import { webhookCard } from './webhooks.js';

const MAX_TOPUP = 1_000_000;

// checkAmount validates a top-up amount as the API does: > 0, at most two
// decimals, at most 1,000,000.
export function checkAmount(text) {
  const t = text.trim();
  if (t === '') return 'Enter an amount.';
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return 'Enter an amount like 25 or 25.50: digits, at most 2 decimals.';
  const v = Number(t);
  if (v <= 0) return 'The amount must be more than 0.';
  if (v > MAX_TOPUP) return `At most ${formatMoney(MAX_TOPUP)} per top-up.`;
  return '';
}

export function render(root, { store, api, flash }) {
  const heading = pageHeading('Dashboard');
  const balance = h('p', { class: 'balance', id: 'balance-amount', 'aria-live': 'polite' }, '…');

  const amount = field({
    id: 'topup-amount',
    label: 'Amount',
    hint: 'Up to 1,000,000.00, at most 2 decimals.',
    input: h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off', name: 'amount', placeholder: '50.00' }),
  });
  const quick = h(
    'div',
    { class: 'quick', role: 'group', 'aria-label': 'Quick amounts' },
    [10, 50, 100, 500].map((n) =>
      h(
        'button',
        {
          type: 'button',
          class: 'button chip',
          on: {
            click: () => {
              amount.input.value = String(n);
              amount.setError('');
              amount.input.focus();
            },
          },
        },
        `+${n}`,
      ),
    ),
  );
  amount.input.addEventListener('input', () => {
    if (amount.input.getAttribute('aria-invalid') === 'true') amount.setError(checkAmount(amount.input.value));
  });
  const topupError = errorRegion('topup-error');
  topupError.hidden = true;
  const topupStatus = statusRegion('topup-status');
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'topup-submit' }, 'Top up');
  const form = h('form', { class: 'form topup', novalidate: true, 'aria-label': 'Top up balance' }, amount.el, quick, topupError, h('div', { class: 'actions' }, submit), topupStatus);
  const operatorNote = h('p', { class: 'muted', id: 'topup-operator', hidden: true }, 'Top-ups are made by the service operator here: ask them to credit your account. Every change shows under ', h('a', { href: '#/transactions' }, 'Transactions'), '.');

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(topupError, null);
    topupStatus.textContent = '';
    const msg = checkAmount(amount.input.value);
    amount.setError(msg);
    if (msg) return amount.input.focus();
    const value = Number(amount.input.value.trim());
    try {
      const res = await busy(submit, 'Topping up…', () => api.topUp(value));
      if (res.checkout_url) {
        // stripe mode: pay on Stripe's page, which sends the user back here.
        topupStatus.textContent = 'Opening the payment page…';
        location.assign(res.checkout_url);
        return;
      }
      store.setBalance(res.balance);
      amount.input.value = '';
      topupStatus.textContent = `Added ${formatMoney(value)}. Your balance is now ${formatMoney(res.balance)}.`;
    } catch (err) {
      showError(topupError, err);
    }
  });

  const recent = predictionTable(store, { limit: 5, compact: true, caption: 'Your 5 most recent predictions' });
  const modelsBox = h('div', { class: 'model-grid compact', id: 'dashboard-models' }, h('p', { class: 'muted' }, 'Loading models…'));
  const listError = errorRegion('recent-error');
  listError.hidden = true;

  add(
    root,
    h('div', { class: 'page-head' }, heading, h('div', { class: 'toolbar' }, h('a', { class: 'button primary', href: '#/predict' }, 'New prediction'))),
    flash ? h('p', { class: ['notice', `notice-${flash.kind}`], role: 'status' }, flash.text) : null,
    h(
      'div',
      { class: 'dash-grid' },
      h('section', { class: 'card balance-card', 'aria-labelledby': 'balance-title' }, h('h2', { id: 'balance-title' }, 'Balance'), balance, form, operatorNote),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'recent-title' },
        h('div', { class: 'section-head' }, h('h2', { id: 'recent-title' }, 'Recent predictions'), h('a', { href: '#/history' }, 'All predictions')),
        listError,
        recent.el,
      ),
    ),
    webhookCard(api),
    h(
      'section',
      { class: 'models-section', 'aria-labelledby': 'dash-models-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'dash-models-title' }, 'Models'), h('a', { href: '#/models' }, 'Details')),
      modelsBox,
    ),
  );

  function showMe() {
    const me = store.me;
    if (!me) return;
    heading.textContent = `Hello, ${me.firstname}`;
    balance.textContent = formatMoney(me.balance);
    // The top-up mode: open (credited at once), stripe (pay through Stripe
    // Checkout) or operator (no self-service top-up).
    form.hidden = me.topup_mode === 'operator';
    operatorNote.hidden = me.topup_mode !== 'operator';
    submit.textContent = me.topup_mode === 'stripe' ? 'Pay with Stripe' : 'Top up';
  }
  showMe();
  const unsubscribe = store.subscribe((c) => {
    if (c.type === 'me') showMe();
    if (c.type === 'list' || c.type === 'prediction' || c.type === 'models') recent.update();
  });
  const stopTick = every(1000, () => recent.tick());

  store.loadMe().catch(() => {});
  store
    .loadModels()
    .then((models) => replace(modelsBox, models.map((m) => modelCard(m, { compact: true }))))
    .catch((err) => replace(modelsBox, h('p', { class: 'form-error' }, err.detail ?? err.message)));
  store
    .refreshList()
    .then(() => store.ensurePolling())
    .catch((err) => showError(listError, err));

  return () => {
    unsubscribe();
    stopTick();
  };
}
