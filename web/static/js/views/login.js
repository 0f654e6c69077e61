// Sign in: exchanges the password for a session token (POST /auth/token)
// and keeps only the token.

import { h } from '../dom.js';
import { authPage, busy, credentialFields, errorRegion, showError } from './common.js';

export function render(root, { flash, signIn }) {
  const { username, password } = credentialFields('login');
  for (const f of [username, password]) {
    f.input.addEventListener('input', () => {
      if (f.input.value) f.setError('');
    });
  }
  const error = errorRegion('login-error');
  error.hidden = true;
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'login-submit' }, 'Sign in');

  const form = h(
    'form',
    { class: 'card form narrow', novalidate: true, 'aria-labelledby': 'login-title' },
    username.el,
    password.el,
    error,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(error, null);
    username.setError(username.input.value.trim() ? '' : 'Enter your username.');
    password.setError(password.input.value ? '' : 'Enter your password.');
    if (!username.input.value.trim()) return username.input.focus();
    if (!password.input.value) return password.input.focus();
    try {
      await busy(submit, 'Signing in…', () => signIn(username.input.value.trim(), password.input.value));
    } catch (err) {
      showError(error, err);
      password.input.select();
      password.input.focus();
    }
  });

  authPage(root, {
    id: 'login-title',
    title: 'Sign in',
    lead: 'Run paid predictions with published models and download the results as CSV.',
    notice: flash ? h('p', { class: ['notice', `notice-${flash.kind}`], role: 'status' }, flash.text) : null,
    form,
    aside: ['No account yet? ', h('a', { href: '#/register', id: 'to-register' }, 'Create one'), ' — or ', h('a', { href: '#/models' }, 'look at the models'), ' first.'],
  });
}
