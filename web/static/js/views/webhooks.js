// The webhook signing secret on the dashboard: hidden until asked for,
// with a button that rotates it (deliveries from then on use the new one).

import { h } from '../dom.js';
import { busy, errorRegion, showError, statusRegion } from './common.js';

export function webhookCard(api) {
  const secret = h('code', { id: 'webhook-secret', class: 'mono small' }, '••••••••');
  const error = errorRegion('webhook-error');
  error.hidden = true;
  const status = statusRegion('webhook-status');
  const show = h('button', { type: 'button', class: 'button secondary small', id: 'webhook-show' }, 'Show secret');
  const rotate = h('button', { type: 'button', class: 'button secondary small', id: 'webhook-rotate' }, 'Rotate');

  async function run(button, label, call, done) {
    await busy(button, label, async () => {
      showError(error, null);
      try {
        const res = await call();
        secret.textContent = res.secret;
        status.textContent = done;
      } catch (err) {
        showError(error, err);
      }
    });
  }
  show.addEventListener('click', () => run(show, 'Loading…', api.webhookSecret, 'This secret signs your webhook deliveries.'));
  rotate.addEventListener('click', () => {
    if (!window.confirm('Rotate the webhook secret? Deliveries from now on are signed with the new one.')) return;
    run(rotate, 'Rotating…', api.rotateWebhookSecret, 'A new secret: update your receivers.');
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'webhook-title' },
    h('h2', { id: 'webhook-title' }, 'Webhook secret'),
    h('p', { class: 'hint' }, 'Predictions with a webhook URL are POSTed there when they end, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) with this secret.'),
    h('p', null, secret),
    h('div', { class: 'actions' }, show, ' ', rotate),
    error,
    status,
  );
}
