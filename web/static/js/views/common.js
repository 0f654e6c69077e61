// Pieces shared by the views: headings, error regions, status badges and
// the "how long has it been waiting" text of a pending prediction.

import { add, h, replace } from '../dom.js';
import { formatDuration, formatTime } from '../format.js';
import { dueAt } from '../store.js';

// pageHeading is the view's h1; it takes focus on navigation so keyboard and
// screen-reader users start at the new content.
export function pageHeading(text, ...extra) {
  return h('h1', { class: 'page-title', tabindex: '-1' }, text, ...extra);
}

// errorRegion is where an API error is said in words, next to what caused
// it. role=alert makes screen readers announce it when text appears.
export function errorRegion(id) {
  return h('p', { class: 'form-error', id, role: 'alert', 'aria-live': 'assertive' });
}

export function statusRegion(id) {
  return h('p', { class: 'form-status', id, role: 'status', 'aria-live': 'polite' });
}

// showError puts err's detail into region (or clears it when err is null).
// A 402 gets a link to the top-up form.
export function showError(region, err) {
  if (!err) {
    replace(region);
    region.hidden = true;
    return;
  }
  region.hidden = false;
  const text = err.detail ?? err.message ?? String(err);
  if (err.status === 402) {
    replace(region, text.endsWith('.') ? text : `${text}.`, ' ', h('a', { href: '#/dashboard' }, 'Top up your balance'), '.');
  } else {
    replace(region, text);
  }
}

export function showStatus(region, text) {
  replace(region, text ?? '');
}

const STATUS_LABEL = { pending: 'Pending', completed: 'Completed', failed: 'Failed', canceled: 'Canceled' };

export function statusBadge(status) {
  return h('span', { class: ['badge', `badge-${status}`], dataset: { status } }, STATUS_LABEL[status] ?? status ?? 'unknown');
}

// waitingText says how long a pending prediction has waited and when it
// should finish: "waiting 5 s · done in about 8 s (14:03:21)".
export function waitingText(rec, now = Date.now()) {
  const created = Date.parse(rec.created_at);
  const due = dueAt(rec);
  const waited = Number.isNaN(created) ? '' : `waiting ${formatDuration(now - created)}`;
  if (Number.isNaN(due)) return waited;
  const at = formatTime(new Date(due));
  const eta = due > now ? `done in about ${formatDuration(due - now)} (${at})` : `due at ${at}, finishing any moment`;
  return waited ? `${waited} · ${eta}` : eta;
}

export function modelName(store, id) {
  return store.model(id)?.name ?? id;
}

// busy disables a button and marks it busy while fn runs.
export async function busy(button, label, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (label) button.textContent = label;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (label) button.textContent = old;
  }
}

// field builds a labelled input with a hint and a per-field error, wired
// with aria-describedby.
export function field({ id, label, hint, input }) {
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const errEl = h('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
  input.id = id;
  input.setAttribute('aria-describedby', [hintEl && `${id}-hint`, `${id}-error`].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl, errEl);
  return {
    el: wrap,
    input,
    setError(text) {
      errEl.textContent = text ?? '';
      if (text) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

// authPage lays out the sign-in and registration pages alike: the heading
// (id names it for the form's aria-labelledby), a lead, an optional notice,
// the form and a line (aside, a list of nodes) to the other page.
export function authPage(root, { id, title, lead, notice = null, form, aside }) {
  const heading = pageHeading(title);
  heading.id = id;
  add(root, h('div', { class: 'auth' }, heading, h('p', { class: 'lead' }, lead), notice, form, h('p', { class: 'aside' }, ...aside)));
}

// credentialFields are the username and password fields of the sign-in
// (prefix 'login') and registration ('reg') forms: the same inputs on both,
// so that browsers and password managers treat them alike; a new password
// is marked as such.
export function credentialFields(prefix, { usernameHint, passwordHint, newPassword = false } = {}) {
  return {
    username: field({
      id: `${prefix}-username`,
      label: 'Username',
      hint: usernameHint,
      input: h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' }),
    }),
    password: field({
      id: `${prefix}-password`,
      label: 'Password',
      hint: passwordHint,
      input: h('input', { type: 'password', name: 'password', autocomplete: newPassword ? 'new-password' : 'current-password', required: true }),
    }),
  };
}

// every runs fn every ms until the returned function is called.
export function every(ms, fn) {
  const t = setInterval(fn, ms);
  return () => clearInterval(t);
}
