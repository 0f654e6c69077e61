// The published models: price, description, quality metric and features.
// Public, so a visitor can compare before registering.

import { add, h, replace } from '../dom.js';
import { formatMoney, formatQuality } from '../format.js';
import { errorRegion, pageHeading, showError } from './common.js';

export function modelCard(m, { compact = false } = {}) {
  const quality = m.quality ? formatQuality(m.quality) : null;
  return h(
    'article',
    { class: ['card', 'model-card', compact && 'compact'], dataset: { modelId: m.id }, 'aria-labelledby': `model-${m.id}` },
    h(
      'div',
      { class: 'model-head' },
      h(compact ? 'h3' : 'h2', { id: `model-${m.id}` }, m.name),
      h('p', { class: 'price' }, h('span', { class: 'price-value' }, formatMoney(m.cost)), h('span', { class: 'muted' }, ' per prediction')),
    ),
    compact ? null : h('p', { class: 'description' }, m.description || 'No description.'),
    h(
      'ul',
      { class: 'facts' },
      h('li', null, h('span', { class: 'muted' }, 'Quality: '), quality ? h('strong', null, quality) : 'not reported', quality ? h('span', { class: 'muted' }, ' on held-out data') : null),
      compact || !m.format ? null : h('li', null, h('span', { class: 'muted' }, 'Algorithm: '), m.format),
      compact || !m.features?.length ? null : h('li', null, h('span', { class: 'muted' }, 'Inputs: '), h('span', { class: 'mono' }, m.features.join(', '))),
    ),
    h(
      'a',
      { class: 'button secondary small', href: `#/predict/${encodeURIComponent(m.id)}`, 'aria-label': `${compact ? 'Use this model' : 'Predict with this model'}: ${m.name}` },
      compact ? 'Use this model' : 'Predict with this model',
    ),
  );
}

export function render(root, { store }) {
  const list = h('div', { class: 'model-grid', id: 'model-list' }, h('p', { class: 'muted' }, 'Loading models…'));
  const error = errorRegion('models-error');
  error.hidden = true;
  add(
    root,
    pageHeading('Models'),
    h('p', { class: 'lead' }, 'Each prediction is charged once per request, whatever the number of rows (up to 10,000). A failed prediction is refunded.'),
    error,
    list,
  );
  store
    .loadModels()
    .then((models) => {
      if (models.length === 0) replace(list, h('p', { class: 'empty' }, 'No models are published yet.'));
      else replace(list, models.map((m) => modelCard(m)));
    })
    .catch((err) => {
      replace(list);
      showError(error, err);
    });
}
