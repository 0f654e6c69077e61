// Registration: the API's rules checked field by field before sending, the
// API's answer shown next to the field it is about, then signed in.

import { h } from '../dom.js';
import { authPage, busy, credentialFields, errorRegion, field, showError } from './common.js';

const USERNAME = /^[A-Za-z0-9._@-]{3,64}$/;

function checkFirstname(v) {
  const n = [...v.trim()].length;
  if (n === 0) return 'Enter your first name.';
  if (n > 100) return 'At most 100 characters.';
  return '';
}

function checkUsername(v) {
  if (v.length < 3 || v.length > 64) return 'Use 3 to 64 characters.';
  if (!USERNAME.test(v)) return 'Use only letters, digits and . _ - @';
  return '';
}

function checkPassword(v) {
  if ([...v].length < 8) return 'Use at least 8 characters.';
  if (new TextEncoder().encode(v).length > 72) return 'At most 72 bytes.';
  return '';
}

export function render(root, { api, signIn }) {
  const firstname = field({
    id: 'reg-firstname',
    label: 'First name',
    input: h('input', { type: 'text', name: 'firstname', autocomplete: 'given-name', required: true, maxlength: '100' }),
  });
  const { username, password } = credentialFields('reg', {
    usernameHint: '3–64 characters: letters, digits and . _ - @',
    passwordHint: '8 to 72 characters.',
    newPassword: true,
  });
  const show = h('input', { type: 'checkbox', id: 'reg-show-password' });
  show.addEventListener('change', () => {
    password.input.type = show.checked ? 'text' : 'password';
  });
  const error = errorRegion('register-error');
  error.hidden = true;
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'register-submit' }, 'Create account');
  const fields = { firstname, username, password };
  const checks = { firstname: checkFirstname, username: checkUsername, password: checkPassword };

  const form = h(
    'form',
    { class: 'card form narrow', novalidate: true, 'aria-labelledby': 'register-title' },
    firstname.el,
    username.el,
    password.el,
    h('div', { class: 'checkbox' }, show, h('label', { for: 'reg-show-password' }, 'Show password')),
    error,
    h('div', { class: 'actions' }, submit),
  );
  // A shown error is re-checked while typing, so it goes away as soon as
  // the value is right. (Not on blur: a message appearing or vanishing then
  // moves the button under the pointer and swallows the click.)
  for (const [k, f] of Object.entries(fields)) {
    f.input.addEventListener('input', () => {
      if (f.input.getAttribute('aria-invalid') === 'true') f.setError(checks[k](f.input.value));
    });
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(error, null);
    let first = null;
    for (const [k, f] of Object.entries(fields)) {
      const msg = checks[k](f.input.value);
      f.setError(msg);
      if (msg && !first) first = f;
    }
    if (first) return first.input.focus();
    const name = firstname.input.value.trim();
    const user = username.input.value;
    const pass = password.input.value;
    try {
      await busy(submit, 'Creating account…', async () => {
        await api.register(name, user, pass);
        await signIn(user, pass);
      });
    } catch (err) {
      // Say it next to the field the API names, and in the form's error region.
      const which = Object.keys(fields).find((k) => (err.detail ?? '').toLowerCase().includes(k));
      if (which) {
        fields[which].setError(err.detail);
        fields[which].input.focus();
      }
      showError(error, err);
    }
  });

  authPage(root, {
    id: 'register-title',
    title: 'Create an account',
    lead: 'New accounts start with a balance of 0.00; top up on the dashboard to run predictions.',
    form,
    aside: ['Already registered? ', h('a', { href: '#/login' }, 'Sign in'), '.'],
  });
}
