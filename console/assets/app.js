// The console: a small hash-routed application in plain JavaScript modules.
import { h, replace } from './dom.js';
import { call, api, setCSRF, APIError } from './api.js';
import { load, t, languages, current, setLanguage, preferUserLanguage, setTimeZone } from './i18n.js';
import { errorText, form, field, onSubmit } from './forms.js';
import { sessionView } from './session.js';
import { ticketsView, ticketView } from './tickets.js';
import { customersView, customerView } from './customers.js';
import { usersView, calendarView, categoriesView, ratesView } from './admin.js';
import { auditView, reviewView, timelineView } from './audit.js';
import { billingView } from './billing.js';
import { accountView } from './account.js';
import { recordingView } from './recording.js';

/** @typedef {{id:number,email:string,name:string,role:string,lang:string,languages:string,active:boolean,totpEnabled:boolean,mustChangePassword:boolean}} User */
/** @typedef {{me: User, params: string[], query: URLSearchParams, main: HTMLElement, pending?: string}} Ctx */

const app = /** @type {HTMLElement} */ (document.getElementById('app'));
const top = /** @type {HTMLElement} */ (document.getElementById('top'));

/** @type {User|null} */
let me = null;
/**
 * A step the user must take before anything else ("password_change",
 * "totp_enrolment"; "" for none): until it is done, only the account page
 * is shown, as the relay refuses everything else.
 */
let pending = '';
/** @type {(() => void)|null} */
let leaveView = null;

/**
 * The pages: a path pattern, the view, and whether only admins see it.
 * @type {Array<{path: RegExp, view: (ctx: Ctx) => Promise<void>|void, admin?: boolean, nav?: string}>}
 */
const pages = [
  { path: /^\/tickets$/, view: ticketsView, nav: 'tickets' },
  { path: /^\/tickets\/(\d+)$/, view: ticketView },
  { path: /^\/customers$/, view: customersView, nav: 'customers' },
  { path: /^\/customers\/(\d+)$/, view: customerView },
  { path: /^\/users$/, view: usersView, admin: true, nav: 'users' },
  { path: /^\/calendar$/, view: calendarView, admin: true, nav: 'calendar' },
  { path: /^\/categories$/, view: categoriesView, admin: true, nav: 'categories' },
  { path: /^\/rates$/, view: ratesView, admin: true, nav: 'rates' },
  { path: /^\/billing$/, view: billingView, admin: true, nav: 'billing' },
  { path: /^\/audit$/, view: auditView, admin: true, nav: 'audit' },
  { path: /^\/audit\/sessions$/, view: reviewView, admin: true },
  { path: /^\/audit\/sessions\/(\d+)$/, view: timelineView, admin: true },
  { path: /^\/account$/, view: accountView },
  // Admins and the session's own technicians: the relay checks who.
  { path: /^\/recordings\/(\d+)$/, view: recordingView },
];

/** @param {string} active */
function header(active) {
  const select = h('select', { id: 'lang', 'aria-label': 'Taal / Langue / Language', onchange: (/** @type {Event} */ e) => {
    setLanguage(/** @type {HTMLSelectElement} */ (e.target).value);
    route();
  } }, ...languages.map((l) => h('option', { value: l, selected: l === current() }, l.toUpperCase())));
  const links = me ? pages.filter((p) => p.nav && (!p.admin || me?.role === 'admin')).map((p) =>
    h('a', { href: '#/' + p.nav, id: 'nav-' + p.nav, 'aria-current': p.nav === active ? 'page' : undefined }, t('nav.' + p.nav))) : [];
  replace(top,
    h('span', { class: 'brand' }, t('title')),
    h('nav', { 'aria-label': t('nav.label') }, ...links),
    h('span', { class: 'spacer' }),
    select,
    me ? h('a', { href: '#/account', id: 'me', title: t('account.title') }, me.name) : '',
    me ? h('button', { class: 'secondary', id: 'logout', onclick: logout }, t('logout')) : '');
}

async function logout() {
  await call('POST', '/api/v1/logout').catch(() => {});
  me = null;
  location.hash = '#/login';
  route();
}

function loginView() {
  const f = form({ class: 'card narrow', id: 'login' },
    h('h1', {}, t('login.title')),
    field(t('login.email'), 'email', h('input', { name: 'email', type: 'text', autocomplete: 'username', required: true })),
    field(t('login.password'), 'password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    // Asked for only once the password was right and the user has a
    // second factor (the relay answers code_required).
    field(t('login.code'), 'code', h('input', { name: 'code', autocomplete: 'one-time-code', autocapitalize: 'off', spellcheck: 'false' }),
      { hidden: true, id: 'login-code' }),
    h('button', { type: 'submit' }, t('login.submit')));
  const error = /** @type {HTMLElement} */ (f.querySelector('.form-error'));
  error.id = 'login-error';
  const codeField = /** @type {HTMLElement} */ (f.querySelector('#login-code'));
  onSubmit(f, async (data) => {
    let res;
    try {
      res = await api.post('/login', { email: data.get('email'), password: data.get('password'), code: data.get('code') || '' });
    } catch (err) {
      if (err instanceof APIError && err.code === 'code_required') {
        codeField.hidden = false;
        /** @type {HTMLInputElement} */ (codeField.querySelector('input')).focus();
        error.textContent = t('login.code.help');
        return;
      }
      throw err;
    }
    me = res.user;
    pending = res.pending;
    setCSRF(res.csrfToken);
    preferUserLanguage(res.user.lang);
    if (!location.hash || location.hash === '#/login') location.hash = '#/tickets';
    route();
  });
  replace(app, f);
}

let routing = 0;
let deskZoneKnown = false;

async function route() {
  const seq = ++routing;
  if (leaveView) { leaveView(); leaveView = null; }
  app.classList.remove('wide');
  if (!me) {
    try {
      const res = await api.get('/me');
      me = res.user;
      pending = res.pending;
      setCSRF(res.csrfToken);
      preferUserLanguage(res.user.lang);
    } catch {
      me = null;
    }
  }
  if (me && !deskZoneKnown) {
    // Once per load: times are shown in the desk's zone, as its hours are.
    deskZoneKnown = true;
    await api.get('/calendar').then((/** @type {any} */ cal) => setTimeZone(cal.timeZone)).catch(() => {});
  }
  if (seq !== routing) return;
  const hash = location.hash.replace(/^#/, '') || '/tickets';
  const [path, qs] = hash.split('?');
  if (!me) {
    header('');
    return loginView();
  }
  try {
    let m;
    if ((m = path.match(/^\/sessions\/(\d+)$/))) {
      header('');
      app.classList.add('wide');
      leaveView = sessionView(app, Number(m[1]));
      return;
    }
    const page = pending ? accountPage : pages.find((p) => p.path.test(path) && (!p.admin || me?.role === 'admin')) || pages[0];
    const params = (path.match(page.path) || []).slice(1);
    header(page.nav || (path.startsWith('/customers') ? 'customers' : path.startsWith('/audit') ? 'audit' : 'tickets'));
    replace(app, h('p', { class: 'muted' }, t('loading')));
    // Each visit renders into its own element, shown once ready, so a slow
    // page cannot overwrite the one the user went on to.
    const main = h('div', { class: 'page', 'data-page': page.nav || path.split('/')[1] });
    await page.view({ me, params, query: new URLSearchParams(qs || ''), main, pending });
    if (seq === routing) replace(app, main);
  } catch (err) {
    if (seq !== routing) return;
    if (err instanceof APIError && err.status === 401) { me = null; return route(); }
    // A step became pending meanwhile (an admin asked for a second factor):
    // ask who we are again, which leads to the account page.
    if (err instanceof APIError && err.code.endsWith('_required')) { me = null; return route(); }
    replace(app, h('p', { class: 'error', id: 'page-error' }, errorText(err)));
  }
}

const accountPage = /** @type {typeof pages[number]} */ (pages.find((p) => p.view === accountView));

window.addEventListener('hashchange', route);
// The account page changed the password or set up a second factor: what is
// pending may have changed.
window.addEventListener('meekijk:account', () => { me = null; route(); });
// Without the texts the page stays as index.html has it, which says after
// a few seconds that the console could not load.
load().then(route, (err) => console.error(err));
