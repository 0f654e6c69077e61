// The account page: change the password, and API keys for programs —
// create one (its key is shown once, in a dialog with a copy button),
// list them, revoke one.

import { add, h, replace } from '../dom.js';
import { formatDateTime } from '../format.js';
import { busy, errorRegion, field, pageHeading, showError, statusRegion } from './common.js';

export function render(root, { api, renewSession }) {
  let alive = true;

  // --- password
  const current = field({
    id: 'pw-current',
    label: 'Current password',
    input: h('input', { type: 'password', autocomplete: 'current-password', required: true }),
  });
  const next = field({
    id: 'pw-new',
    label: 'New password',
    hint: 'At least 8 characters. Other signed-in tabs and devices will have to sign in again.',
    input: h('input', { type: 'password', autocomplete: 'new-password', required: true }),
  });
  const pwError = errorRegion('pw-error');
  pwError.hidden = true;
  const pwStatus = statusRegion('pw-status');
  const pwSubmit = h('button', { type: 'submit', class: 'button primary', id: 'pw-submit' }, 'Change password');
  const pwForm = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'pw-title' },
    h('h2', { id: 'pw-title' }, 'Password'),
    current.el,
    next.el,
    pwError,
    pwStatus,
    h('div', { class: 'actions' }, pwSubmit),
  );
  pwForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(pwError, null);
    replace(pwStatus);
    current.setError(current.input.value ? '' : 'Enter your current password.');
    next.setError([...next.input.value].length >= 8 ? '' : 'The new password needs at least 8 characters.');
    if (!current.input.value) return current.input.focus();
    if ([...next.input.value].length < 8) return next.input.focus();
    try {
      await busy(pwSubmit, 'Changing…', async () => {
        await api.changePassword(current.input.value, next.input.value);
        await renewSession(next.input.value); // the old session token no longer works
      });
      current.input.value = '';
      next.input.value = '';
      replace(pwStatus, 'Your password is changed.');
    } catch (err) {
      showError(pwError, err);
    }
  });

  // --- API keys
  const name = field({
    id: 'key-name',
    label: 'Name',
    hint: 'What the key is for, e.g. “nightly job”.',
    input: h('input', { type: 'text', autocomplete: 'off', maxlength: '100', required: true }),
  });
  const keyError = errorRegion('key-error');
  keyError.hidden = true;
  const keySubmit = h('button', { type: 'submit', class: 'button primary', id: 'key-create' }, 'Create key');
  const list = h('div', { id: 'key-list', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  const keyForm = h('form', { class: 'form', novalidate: true }, name.el, keyError, h('div', { class: 'actions' }, keySubmit));

  const keyValue = h('input', { type: 'text', readonly: true, class: 'mono', id: 'new-key-value', 'aria-label': 'The new API key' });
  const copied = h('p', { class: 'form-status', role: 'status', id: 'new-key-copied' });
  const copy = h('button', { type: 'button', class: 'button secondary', id: 'new-key-copy' }, 'Copy');
  const close = h('button', { type: 'button', class: 'button primary', id: 'new-key-close' }, 'I have copied it');
  const dialog = h(
    'dialog',
    { id: 'new-key-dialog', 'aria-labelledby': 'new-key-title' },
    h('h2', { id: 'new-key-title' }, 'Your new API key'),
    h('p', null, 'Copy it now: it is shown only once. Send it as ', h('code', null, 'Authorization: Bearer <key>'), '.'),
    keyValue,
    copied,
    h('div', { class: 'actions' }, copy, close),
  );
  copy.addEventListener('click', async () => {
    keyValue.select();
    try {
      await navigator.clipboard.writeText(keyValue.value);
      replace(copied, 'Copied.');
    } catch {
      replace(copied, 'Selected: press Ctrl+C (⌘C) to copy.');
    }
  });
  const forget = () => {
    keyValue.value = ''; // the key leaves the page
    replace(copied);
  };
  // The dialog's close event comes a task after it is hidden: the button
  // forgets the key before hiding it; the event covers Escape.
  close.addEventListener('click', () => {
    forget();
    dialog.close();
  });
  dialog.addEventListener('close', forget);

  async function load() {
    try {
      const keys = await api.apiKeys();
      if (!alive) return;
      if (!keys.length) {
        replace(list, h('p', { class: 'muted' }, 'No API keys yet.'));
        return;
      }
      replace(
        list,
        h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'data' },
            h('caption', null, 'Your API keys'),
            h('thead', null, h('tr', null, ['Name', 'Key', 'Created', 'Last used', ''].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              null,
              keys.map((k) => {
                const revoke = h('button', { type: 'button', class: 'button secondary small', dataset: { revoke: k.id } }, 'Revoke');
                // Two clicks: the first asks to confirm (no modal prompt).
                let armed = null;
                revoke.addEventListener('click', async () => {
                  if (!armed) {
                    revoke.textContent = 'Confirm revoke';
                    revoke.classList.add('danger');
                    armed = setTimeout(() => {
                      armed = null;
                      revoke.textContent = 'Revoke';
                      revoke.classList.remove('danger');
                    }, 5000);
                    return;
                  }
                  clearTimeout(armed);
                  try {
                    await busy(revoke, 'Revoking…', () => api.deleteAPIKey(k.id));
                    await load();
                  } catch (err) {
                    showError(keyError, err);
                  }
                });
                return h(
                  'tr',
                  { dataset: { key: k.id } },
                  h('td', null, k.name),
                  h('td', { class: 'mono' }, `${k.prefix}…`),
                  h('td', null, formatDateTime(k.created_at)),
                  h('td', null, k.last_used_at ? formatDateTime(k.last_used_at) : 'never'),
                  h('td', null, revoke),
                );
              }),
            ),
          ),
        ),
      );
    } catch (err) {
      if (alive) replace(list, h('p', { class: 'form-error', role: 'alert' }, err.detail ?? err.message));
    }
  }

  keyForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(keyError, null);
    const n = name.input.value.trim();
    name.setError(n ? '' : 'Enter a name for the key.');
    if (!n) return name.input.focus();
    try {
      const created = await busy(keySubmit, 'Creating…', () => api.createAPIKey(n));
      name.input.value = '';
      keyValue.value = created.key;
      dialog.showModal();
      keyValue.select();
      await load();
    } catch (err) {
      showError(keyError, err);
    }
  });

  const heading = pageHeading('Account');
  add(
    root,
    heading,
    pwForm,
    h('section', { class: 'card', 'aria-labelledby': 'keys-title' }, h('h2', { id: 'keys-title' }, 'API keys'),
      h('p', { class: 'hint' }, 'Keys let programs call the API without your password. At most 20.'), keyForm, list),
    dialog,
  );
  load();
  return () => {
    alive = false;
    if (dialog.open) dialog.close();
  };
}
