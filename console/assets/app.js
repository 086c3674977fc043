// The console: a small hash-routed application in plain JavaScript modules.
import { h, replace } from './dom.js';
import { call, setCSRF, APIError } from './api.js';
import { load, t, languages, current, setLanguage, preferUserLanguage } from './i18n.js';
import { sessionView } from './session.js';

/** @typedef {{id:number,email:string,name:string,role:string,lang:string}} User */

const app = /** @type {HTMLElement} */ (document.getElementById('app'));
const top = /** @type {HTMLElement} */ (document.getElementById('top'));

/** @type {User|null} */
let me = null;
/** @type {(() => void)|null} */
let leaveView = null;

/** @param {unknown} err */
function errorText(err) {
  if (err instanceof APIError) {
    if (err.code === 'bad_credentials') return t('error.bad_credentials');
    if (err.code === 'throttled') return t('error.throttled', { seconds: err.retryAfter || 60 });
    if (err.code === 'invalid') return t('error.invalid', { field: err.field || '' });
    return t('error.generic', { message: err.message });
  }
  return t('error.generic', { message: String(err) });
}

function header() {
  const select = h('select', { id: 'lang', 'aria-label': 'Taal / Langue / Language', onchange: (/** @type {Event} */ e) => {
    setLanguage(/** @type {HTMLSelectElement} */ (e.target).value);
    route();
  } }, ...languages.map((l) => h('option', { value: l, selected: l === current() }, l.toUpperCase())));
  replace(top,
    h('span', { class: 'brand' }, t('title')),
    me ? h('a', { href: '#/tickets' }, t('tickets.title')) : '',
    select,
    me ? h('span', { class: 'muted' }, me.name) : '',
    me ? h('button', { class: 'secondary', id: 'logout', onclick: logout }, t('logout')) : '');
}

async function logout() {
  await call('POST', '/api/logout').catch(() => {});
  me = null;
  location.hash = '#/login';
  route();
}

function loginView() {
  const error = h('p', { class: 'error', id: 'login-error' });
  const form = h('form', { class: 'card', id: 'login' },
    h('h1', {}, t('login.title')),
    h('label', {}, t('login.email'), h('input', { name: 'email', type: 'text', autocomplete: 'username', required: true })),
    h('label', {}, t('login.password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    error,
    h('button', { type: 'submit' }, t('login.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (form));
    try {
      const res = await call('POST', '/api/login', { email: data.get('email'), password: data.get('password') });
      me = res.user;
      setCSRF(res.csrfToken);
      preferUserLanguage(res.user.lang);
      location.hash = '#/tickets';
      route();
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  replace(app, form);
}

/** @param {string} iso */
function when(iso) {
  return new Date(iso).toLocaleString(current());
}

async function ticketsView() {
  const error = h('p', { class: 'error' });
  const form = h('form', { class: 'card', id: 'new-ticket' },
    h('h2', {}, t('tickets.new')),
    h('label', {}, t('ticket.subject'), h('input', { name: 'title', required: true, maxlength: 200 })),
    h('label', {}, t('ticket.customer'), h('input', { name: 'customerName', required: true, maxlength: 200 })),
    error,
    h('button', { type: 'submit' }, t('ticket.create')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (form));
    try {
      const tk = await call('POST', '/api/tickets', { title: data.get('title'), customerName: data.get('customerName') });
      location.hash = '#/tickets/' + tk.id;
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  const tickets = await call('GET', '/api/tickets');
  const list = tickets.length === 0 ? h('p', { class: 'muted' }, t('tickets.empty')) :
    h('table', { id: 'tickets' },
      h('thead', {}, h('tr', {}, h('th', {}, t('ticket.reference')), h('th', {}, t('ticket.subject')), h('th', {}, t('ticket.customer')), h('th', {}, t('ticket.created')))),
      h('tbody', {}, ...tickets.map((/** @type {any} */ tk) => h('tr', {},
        h('td', {}, h('a', { href: '#/tickets/' + tk.id }, tk.reference)),
        h('td', {}, tk.title), h('td', {}, tk.customerName), h('td', {}, when(tk.createdAt))))));
  replace(app, h('h1', {}, t('tickets.title')), form, list);
}

/** @param {any} s */
export function statusOf(s) {
  return s.status === 'waiting' && (s.codeExpired || s.reason === 'code_expired') ? 'expired' : s.status;
}

/** @param {number} id */
async function ticketView(id) {
  const tk = await call('GET', '/api/tickets/' + id);
  const codeBox = h('section', { class: 'card', id: 'code-box', hidden: true });
  const error = h('p', { class: 'error' });
  const start = h('button', { id: 'start-session', onclick: async () => {
    try {
      const res = await call('POST', `/api/tickets/${id}/sessions`);
      replace(codeBox,
        h('div', { class: 'muted' }, t('session.code')),
        h('div', { class: 'code', id: 'session-code' }, res.code),
        h('p', {}, t('session.tell')),
        h('a', { href: '#/sessions/' + res.session.id, id: 'open-session' }, t('session.open')));
      codeBox.hidden = false;
    } catch (err) {
      error.textContent = errorText(err);
    }
  } }, t('session.start'));
  const sessions = tk.sessions.length === 0 ? h('p', { class: 'muted' }, t('ticket.nosessions')) :
    h('table', {}, h('tbody', {}, ...tk.sessions.map((/** @type {any} */ s) => h('tr', {},
      h('td', {}, h('a', { href: '#/sessions/' + s.id }, t('session.title', { id: s.id }))),
      h('td', {}, s.technician), h('td', {}, when(s.createdAt)),
      h('td', {}, h('span', { class: 'status ' + statusOf(s) }, t('status.' + statusOf(s))))))));
  replace(app,
    h('h1', {}, `${tk.reference} — ${tk.title}`),
    h('p', { class: 'muted' }, `${t('ticket.customer')}: ${tk.customerName}`),
    h('div', { class: 'toolbar' }, start), error, codeBox,
    h('h2', {}, t('ticket.sessions')), sessions);
}

async function route() {
  if (leaveView) { leaveView(); leaveView = null; }
  app.classList.remove('wide');
  if (!me) {
    try {
      const res = await call('GET', '/api/me');
      me = res.user;
      setCSRF(res.csrfToken);
      preferUserLanguage(res.user.lang);
    } catch {
      me = null;
    }
  }
  header();
  const path = location.hash.replace(/^#/, '') || '/tickets';
  if (!me) return loginView();
  try {
    let m;
    if ((m = path.match(/^\/tickets\/(\d+)$/))) await ticketView(Number(m[1]));
    else if ((m = path.match(/^\/sessions\/(\d+)$/))) { app.classList.add('wide'); leaveView = sessionView(app, Number(m[1])); }
    else await ticketsView();
  } catch (err) {
    if (err instanceof APIError && err.status === 401) { me = null; return route(); }
    replace(app, h('p', { class: 'error' }, errorText(err)));
  }
}

window.addEventListener('hashchange', route);
load().then(route);
