// The single-page app: hash routes, the page frame (navigation, balance,
// sign out) and the session. Views render into <main>; each returns an
// optional cleanup function that runs when the route changes.

import { api, clearSession, createSession, getSession, setSession, setUnauthorizedHandler } from './api.js';
import { h, replace } from './dom.js';
import { formatMoney } from './format.js';
import { Store } from './store.js';
import * as accountView from './views/account.js';
import * as dashboard from './views/dashboard.js';
import * as details from './views/details.js';
import * as historyView from './views/history.js';
import * as login from './views/login.js';
import * as models from './views/models.js';
import * as predict from './views/predict.js';
import * as register from './views/register.js';
import * as transactions from './views/transactions.js';
import { pageHeading } from './views/common.js';

const store = new Store({ api });
const main = document.getElementById('main');
const navList = document.getElementById('nav');
const account = document.getElementById('account');

const routes = [
  { pattern: /^\/login$/, view: login, guest: true },
  { pattern: /^\/register$/, view: register, guest: true },
  { pattern: /^\/dashboard$/, view: dashboard, nav: 'dashboard', auth: true },
  { pattern: /^\/models$/, view: models, nav: 'models' },
  { pattern: /^\/predict(?:\/([^/]+))?$/, view: predict, nav: 'predict', auth: true },
  { pattern: /^\/history$/, view: historyView, nav: 'history', auth: true },
  { pattern: /^\/predictions\/([^/]+)$/, view: details, nav: 'history', auth: true },
  { pattern: /^\/account$/, view: accountView, nav: 'account', auth: true },
  { pattern: /^\/transactions$/, view: transactions, nav: 'transactions', auth: true },
];

let cleanup = null;
let flash = null;
let returnTo = null;
let firstRender = true;

const signedIn = () => getSession() !== null;

function navigate(path, { message, replaceEntry = false } = {}) {
  if (message) flash = message;
  const target = `#${path}`;
  if (location.hash === target) render();
  else if (replaceEntry) {
    history.replaceState(null, '', target);
    render();
  } else location.hash = target;
}

// signIn exchanges the password for a session token, which is all that is
// kept (sessionStorage); the password is not.
async function signIn(username, password) {
  store.resetUser();
  const session = await createSession(username, password);
  await store.loadMe(session);
  setSession(session);
  const to = returnTo && returnTo !== '/login' && returnTo !== '/register' ? returnTo : '/dashboard';
  returnTo = null;
  renderFrame();
  navigate(to);
}

// renewSession replaces the session after a password change, which ends
// the tokens issued before it.
async function renewSession(password) {
  const current = getSession();
  if (!current) return;
  setSession(await createSession(current.username, password));
}

function signOut(message = { kind: 'info', text: 'You are signed out.' }) {
  clearSession();
  store.resetUser();
  renderFrame();
  navigate('/login', { message });
}

setUnauthorizedHandler((err) => {
  if (!signedIn()) return;
  const here = location.hash.slice(1);
  const expired = /expired/i.test(err?.detail ?? '');
  signOut({ kind: 'error', text: expired ? 'Your session has expired. Please sign in again.' : 'Your sign-in is no longer valid. Please sign in again.' });
  returnTo = here || null; // back there after signing in again
});

const NAV = {
  in: [
    ['dashboard', '/dashboard', 'Dashboard'],
    ['models', '/models', 'Models'],
    ['predict', '/predict', 'New prediction'],
    ['history', '/history', 'History'],
    ['account', '/account', 'Account'],
    ['transactions', '/transactions', 'Transactions'],
  ],
  out: [
    ['login', '/login', 'Sign in'],
    ['register', '/register', 'Register'],
    ['models', '/models', 'Models'],
  ],
};

let activeNav = null;

function renderFrame() {
  const items = signedIn() ? NAV.in : NAV.out;
  replace(
    navList,
    items.map(([key, path, label]) =>
      h('li', null, h('a', { href: `#${path}`, 'aria-current': key === activeNav ? 'page' : null, dataset: { nav: key } }, label)),
    ),
  );
  if (!signedIn()) {
    replace(account);
    return;
  }
  const me = store.me;
  replace(
    account,
    h('span', { class: 'who' }, me ? me.firstname : ''),
    h(
      'a',
      { class: 'balance-chip', href: '#/dashboard', id: 'header-balance', title: 'Balance — top up on the dashboard' },
      h('span', { class: 'label' }, 'Balance '),
      me ? formatMoney(me.balance) : '…',
    ),
    h('button', { type: 'button', class: 'button secondary small', id: 'sign-out', on: { click: () => signOut() } }, 'Sign out'),
  );
}

store.subscribe((c) => {
  if (c.type === 'me' || c.type === 'reset') renderFrame();
});

function notFound(root) {
  replace(
    root,
    pageHeading('Page not found'),
    h('p', null, 'There is nothing at this address. ', h('a', { href: '#/dashboard' }, 'Go to the dashboard'), '.'),
  );
}

function render() {
  const hash = location.hash;
  if (!hash.startsWith('#/')) {
    if (hash === '' || hash === '#') navigate(signedIn() ? '/dashboard' : '/login', { replaceEntry: true });
    return; // an in-page anchor
  }
  const path = hash.slice(1);
  let route = null;
  let params = [];
  for (const r of routes) {
    const m = path.match(r.pattern);
    if (m) {
      route = r;
      try {
        params = m.slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p)));
      } catch {
        route = null; // a malformed address: "page not found"
      }
      break;
    }
  }
  if (route?.auth && !signedIn()) {
    returnTo = path;
    navigate('/login', { replaceEntry: true });
    return;
  }
  if (route?.guest && signedIn()) {
    navigate('/dashboard', { replaceEntry: true });
    return;
  }
  if (cleanup) cleanup();
  cleanup = null;
  main.replaceChildren();
  activeNav = route?.nav ?? (route ? path.slice(1) : null);
  renderFrame();
  const message = flash;
  flash = null;
  const ctx = { store, api, navigate, params, flash: message, signIn, signOut, renewSession };
  if (route) cleanup = route.view.render(main, ctx) ?? null;
  else notFound(main);
  const title = main.querySelector('h1');
  document.title = title ? `${title.textContent} · ML Service` : 'ML Service';
  if (!firstRender) title?.focus();
  firstRender = false;
}

document.getElementById('skip-link').addEventListener('click', (e) => {
  e.preventDefault();
  (main.querySelector('h1') ?? main).focus();
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && signedIn() && store.unsettled().length > 0) store.startPolling();
});

window.addEventListener('hashchange', render);

if (signedIn()) store.loadMe().catch(() => {}); // a 401 signs out through the handler

// Back from Stripe Checkout (stripe top-up mode): say so, and refresh the
// balance until the payment's webhook has credited it.
const topupReturn = new URLSearchParams(location.search).get('topup');
if (topupReturn) {
  history.replaceState(null, '', `${location.pathname}#/dashboard`);
  if (topupReturn === 'success') {
    flash = { kind: 'success', text: 'Payment received. Your balance shows it as soon as Stripe confirms it (usually a few seconds).' };
    const before = store.me?.balance;
    let tries = 0;
    const timer = setInterval(() => {
      tries += 1;
      if (!signedIn() || tries > 15) return clearInterval(timer);
      store
        .loadMe()
        .then((me) => {
          if (before !== undefined && me?.balance !== before) clearInterval(timer);
        })
        .catch(() => clearInterval(timer));
    }, 2000);
  } else {
    flash = { kind: 'info', text: 'Payment canceled: nothing was charged.' };
  }
}
render();
