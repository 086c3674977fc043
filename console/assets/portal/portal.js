// The customer portal: a reference person of a customer signs in (a
// one-time link by e-mail, or a password) and follows their company's
// tickets, files requests, answers the desk's questions and finds their
// hours and invoices. A small hash-routed page like the console, on the
// console's generic modules; it calls only /portaal/api/.
import { h, replace } from '../dom.js';
import { setCSRF, APIError } from '../api.js';
import { load, t, languages, current, showLanguage, setLanguage } from '../i18n.js';
import { form, field, onSubmit, str, errorText } from '../forms.js';
import { card } from '../common.js';
import { portal } from './papi.js';
import { homeView, ticketView, requestView } from './tickets.js';
import { hoursView } from './hours.js';

/** @typedef {{name: string, email: string, company: string, lang: string, hasPassword: boolean, csrfToken: string}} Me */
/** @typedef {{me: Me, params: string[], main: HTMLElement}} Ctx */

const app = /** @type {HTMLElement} */ (document.getElementById('app'));
const top = /** @type {HTMLElement} */ (document.getElementById('top'));

/** @type {Me|null} */
let me = null;

/** @type {Array<{path: RegExp, view: (ctx: Ctx) => Promise<void>, nav?: string}>} */
const pages = [
  { path: /^\/$/, view: homeView, nav: '' },
  { path: /^\/new$/, view: requestView, nav: 'new' },
  { path: /^\/tickets\/(\d+)$/, view: ticketView },
  { path: /^\/hours$/, view: hoursView, nav: 'hours' },
  { path: /^\/account$/, view: accountView, nav: 'account' },
];

/** @param {string|null} active */
function header(active) {
  const lang = h('select', { id: 'lang', 'aria-label': 'Taal / Langue / Language', onchange: (/** @type {Event} */ e) =>
    chooseLanguage(/** @type {HTMLSelectElement} */ (e.target).value) },
  ...languages.map((l) => h('option', { value: l, selected: l === current() }, l.toUpperCase())));
  const nav = me ? pages.filter((p) => p.nav !== undefined).map((p) =>
    h('a', { href: '#/' + p.nav, id: 'nav-' + (p.nav || 'home'), 'aria-current': p.nav === active ? 'page' : undefined },
      t('nav.' + (p.nav || 'home')))) : [];
  replace(top,
    h('span', { class: 'brand' }, t('title')),
    me ? h('span', { class: 'company', id: 'company' }, me.company) : '',
    h('nav', { 'aria-label': t('nav.label') }, ...nav),
    h('span', { class: 'spacer' }),
    lang,
    me ? h('span', { id: 'me', class: 'muted' }, me.name) : '',
    me ? h('button', { class: 'secondary', id: 'signout', onclick: signOut }, t('signout')) : '');
}

/**
 * A language chosen in the header: kept on the contact when signed in, so
 * mails and the next sign-in use it too; before, in this browser, so the
 * page of a link opened later speaks it.
 * @param {string} l
 */
async function chooseLanguage(l) {
  if (!me) setLanguage(l);
  showLanguage(l);
  if (me) {
    me.lang = l;
    await portal.put('/me/lang', { lang: l }).catch((err) => console.error(err));
  }
  route();
}

async function signOut() {
  await portal.post('/signout').catch(() => {});
  me = null;
  location.hash = '#/';
  route();
}

/**
 * The sign-in page: a link by e-mail (the default), or a password for who
 * set one. The relay answers a link request the same for every address.
 * @param {string} [notice] a text above the forms (an expired link)
 */
function signInView(notice) {
  const sent = h('p', { class: 'ok', id: 'link-sent', role: 'status' });
  const linkForm = form({ id: 'link-form' },
    h('p', {}, t('signin.link.help')),
    field(t('signin.email'), 'email', h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true })),
    h('button', { type: 'submit' }, t('signin.link.submit')),
    sent);
  onSubmit(linkForm, async (data) => {
    sent.textContent = '';
    const email = str(data, 'email');
    if (!email) throw new APIError(400, { error: 'invalid', field: 'email' });
    await portal.post('/link', { email, lang: current() });
    sent.textContent = t('signin.link.sent', { email });
  });
  const pwForm = form({ id: 'password-form' },
    field(t('signin.email'), 'email', h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true })),
    field(t('signin.password'), 'password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit' }, t('signin.password.submit')));
  onSubmit(pwForm, async (data) => {
    await portal.post('/password-signin', { email: str(data, 'email'), password: data.get('password') });
    me = null;
    route();
  });
  header(null);
  replace(app, h('div', { class: 'signin' },
    h('h1', {}, t('signin.title')),
    h('p', { class: 'muted' }, t('signin.intro')),
    notice ? h('p', { class: 'warn', id: 'signin-notice', role: 'alert' }, notice) : '',
    card({ id: 'link-card' }, t('signin.link.title'), linkForm),
    card({ id: 'password-card' }, t('signin.password.title'), h('p', { class: 'muted' }, t('signin.password.help')), pwForm)));
  focusHeading();
}

/**
 * The landing of a mailed link (/portaal/in/TOKEN): the token is spent at
 * once and taken out of the address bar, so it is not left in the history
 * nor shown to whoever looks over the person's shoulder.
 * @param {string} token
 */
async function spendLink(token) {
  history.replaceState(null, '', '/portaal/#/');
  try {
    await portal.post('/signin', { token });
  } catch (err) {
    return signInView(errorText(err));
  }
  me = null;
  await route();
}

/** @param {Ctx} ctx */
async function accountView({ main }) {
  const account = /** @type {Me} */ (me);
  const langForm = form({ id: 'lang-form', class: 'inline' },
    field(t('account.lang'), 'lang', h('select', { name: 'lang' },
      ...languages.map((l) => h('option', { value: l, selected: l === current() }, t('lang.' + l))))),
    h('button', { type: 'submit' }, t('save')));
  onSubmit(langForm, async (data) => {
    await chooseLanguage(str(data, 'lang'));
  });
  const done = h('p', { class: 'ok', id: 'password-set', role: 'status' });
  const pwForm = form({ id: 'set-password' },
    h('p', { class: 'muted' }, t(account.hasPassword ? 'account.password.has' : 'account.password.none')),
    account.hasPassword ? field(t('account.password.current'), 'current',
      h('input', { name: 'current', type: 'password', autocomplete: 'current-password' })) : '',
    field(t('account.password.new'), 'password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: 12 })),
    field(t('account.password.repeat'), 'repeat', h('input', { name: 'repeat', type: 'password', autocomplete: 'new-password' })),
    h('button', { type: 'submit' }, t('account.password.submit')),
    done);
  onSubmit(pwForm, async (data) => {
    done.textContent = '';
    if (data.get('password') !== data.get('repeat')) throw new APIError(400, { error: 'mismatch', field: 'repeat' });
    /** @type {Record<string, any>} */
    const body = { password: data.get('password') };
    if (account.hasPassword) body.current = data.get('current');
    await portal.put('/password', body);
    account.hasPassword = true;
    pwForm.reset();
    done.textContent = t('account.password.done');
  });
  replace(main,
    h('h1', {}, t('account.title')),
    h('dl', { class: 'facts' }, h('dt', {}, t('account.name')), h('dd', { id: 'account-name' }, account.name),
      h('dt', {}, t('account.company')), h('dd', {}, account.company)),
    h('div', { class: 'two' },
      card({ id: 'lang-card' }, t('account.lang.title'), langForm),
      card({ id: 'password-card' }, t('account.password.title'), pwForm)),
    card({ id: 'signout-card' }, t('account.signout.title'), h('p', { class: 'muted' }, t('account.signout.help')),
      h('button', { type: 'button', class: 'secondary', id: 'signout-here', onclick: signOut }, t('signout'))));
}

/** Moves the keyboard focus to the new page's title, for screen readers. */
function focusHeading() {
  const h1 = /** @type {HTMLElement|null} */ (app.querySelector('h1'));
  if (!h1) return;
  h1.tabIndex = -1;
  h1.focus({ preventScroll: true });
}

let routing = 0;

async function route() {
  const seq = ++routing;
  if (!me) {
    try {
      // Who is signed in, with the session's CSRF token: a new tab or a
      // reload asks again rather than keep it anywhere.
      me = /** @type {Me} */ (await portal.get('/me'));
      setCSRF(me.csrfToken);
      showLanguage(me.lang);
    } catch (err) {
      me = null;
      if (!(err instanceof APIError && err.status === 401)) console.error(err);
    }
  }
  if (seq !== routing) return;
  if (!me) return signInView();
  const path = location.hash.replace(/^#/, '').split('?')[0] || '/';
  const page = pages.find((p) => p.path.test(path)) || pages[0];
  header(page.nav ?? null);
  replace(app, h('p', { class: 'muted' }, t('loading')));
  // Each visit renders into its own element, shown once ready, so a slow
  // page cannot overwrite the one the person went on to.
  const main = h('div', { class: 'page', 'data-page': page.nav || path.split('/')[1] || 'home' });
  try {
    await page.view({ me, params: (path.match(page.path) || []).slice(1), main });
  } catch (err) {
    if (seq !== routing) return;
    if (err instanceof APIError && err.status === 401) { me = null; return route(); }
    replace(app, h('p', { class: 'error', id: 'page-error', role: 'alert' }, errorText(err)));
    return;
  }
  if (seq !== routing) return;
  replace(app, main);
  focusHeading();
}

window.addEventListener('hashchange', () => { route(); });

const landing = location.pathname.match(/^\/portaal\/in\/([A-Za-z0-9_-]+)$/);
// ?lang= (the mailed link carries the contact's language) shows the
// sign-in page in it before anyone is known.
const asked = new URLSearchParams(location.search).get('lang');
// Without the texts the page stays as index.html has it, which says after
// a few seconds that the portal could not load.
load('/portaal/i18n.json', 'portal.').then(() => {
  if (asked) showLanguage(asked);
  return landing ? spendLink(landing[1]) : route();
}, (err) => console.error(err));
