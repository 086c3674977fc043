// The user's own account (password, second factor) and the admin's account
// tools (resetting someone's password or second factor, who must use a
// second factor). Secrets the relay shows once (a reset password, the TOTP
// secret, recovery codes) are put in the page as text and nowhere else.
import { h, replace, select } from './dom.js';
import { api, APIError } from './api.js';
import { t } from './i18n.js';
import { form, field, onSubmit, str, showError } from './forms.js';
import { card } from './common.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/**
 * Tells the application that the user's account changed (a password
 * changed, a second factor set up), so it asks the relay who they are
 * again and lets them go on when nothing is pending any more.
 */
function accountChanged() {
  window.dispatchEvent(new Event('meekijk:account'));
}

/** @param {Ctx & {pending?: string}} ctx */
export async function accountView(ctx) {
  const { main, me } = ctx;
  const pending = ctx.pending || '';
  replace(main,
    h('h1', {}, t('account.title')),
    pending ? h('p', { class: 'card notice', id: 'account-pending', 'data-pending': pending }, t('account.pending.' + pending)) : '',
    h('div', { class: 'columns' },
      h('div', { class: 'main-col' }, passwordCard(pending === 'password_change')),
      h('div', { class: 'side-col' }, pending === 'password_change' ? '' : totpCard(me))));
}

/** @param {boolean} forced */
function passwordCard(forced) {
  const done = h('p', { class: 'ok', id: 'password-changed', role: 'status' });
  const f = form({ class: 'card', id: 'password-change' },
    h('h2', {}, t('account.password')),
    field(t(forced ? 'account.password.given' : 'account.password.current'), 'current',
      h('input', { name: 'current', type: 'password', autocomplete: 'current-password' })),
    field(t('account.password.new'), 'new', h('input', { name: 'new', type: 'password', autocomplete: 'new-password', minlength: 12 })),
    field(t('account.password.repeat'), 'repeat', h('input', { name: 'repeat', type: 'password', autocomplete: 'new-password' })),
    h('p', { class: 'muted' }, t('account.password.help')),
    h('button', { type: 'submit' }, t('account.password.submit')),
    done);
  onSubmit(f, async (data) => {
    if (data.get('new') !== data.get('repeat')) {
      throw new APIError(400, { error: 'mismatch', field: 'repeat', message: '' });
    }
    await api.post('/account/password', { current: data.get('current'), new: data.get('new') });
    f.reset();
    done.textContent = t('account.password.changed');
    // Forced by a reset: the rest of the console opens now.
    if (forced) accountChanged();
  });
  return f;
}

/** @param {import('./app.js').User} me */
function totpCard(me) {
  const body = h('div', { id: 'totp-body' });
  const c = card({ id: 'totp' }, t('account.totp'), body);
  if (me.totpEnabled) {
    replace(body, h('p', { class: 'ok', id: 'totp-on' }, t('account.totp.on')), h('p', { class: 'muted' }, t('account.totp.lost')));
    return c;
  }
  const begin = h('button', { type: 'button', id: 'totp-begin' }, t('account.totp.begin'));
  const error = h('p', { class: 'error form-error', role: 'alert' });
  begin.addEventListener('click', async () => {
    begin.setAttribute('disabled', '');
    try {
      enrol(body, await api.post('/account/totp'));
    } catch (err) {
      begin.removeAttribute('disabled');
      showError(c, err);
    }
  });
  replace(body, h('p', {}, t('account.totp.why')), begin, error);
  return c;
}

/**
 * Shows the QR code and the secret, then asks for the first code.
 * @param {HTMLElement} body
 * @param {{secret: string, url: string, qr: string}} en
 */
function enrol(body, en) {
  const f = form({ id: 'totp-confirm' },
    field(t('account.totp.code'), 'code', h('input', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6 })),
    h('button', { type: 'submit' }, t('account.totp.confirm')));
  onSubmit(f, async (data) => {
    const res = await api.post('/account/totp/confirm', { code: str(data, 'code') });
    showRecovery(body, res.recoveryCodes);
  });
  replace(body,
    h('p', {}, t('account.totp.scan')),
    h('img', { id: 'totp-qr', src: en.qr, width: 256, height: 256, alt: t('account.totp.qr') }),
    h('p', { class: 'muted' }, t('account.totp.manual')),
    h('p', {}, h('code', { id: 'totp-secret', class: 'code' }, en.secret)),
    f);
  /** @type {HTMLInputElement} */ (f.querySelector('input[name=code]')).focus();
}

/**
 * @param {HTMLElement} body
 * @param {string[]} codes
 */
function showRecovery(body, codes) {
  replace(body,
    h('p', { class: 'ok', id: 'totp-on' }, t('account.totp.on')),
    h('p', {}, t('account.recovery.once')),
    h('ol', { id: 'recovery-codes', class: 'code' }, ...codes.map((c) => h('li', {}, c))),
    h('button', { type: 'button', id: 'recovery-done', onclick: accountChanged }, t('account.recovery.saved')));
}

/**
 * The admin's buttons for one user's account: a new password (shown once)
 * and removing their second factor. Each asks to be clicked twice, as both
 * end the user's logins.
 * @param {any} u
 */
export function userAccountActions(u) {
  const result = h('div', { id: 'account-reset', 'aria-live': 'polite' });
  /**
   * @param {string} id
   * @param {string} label
   * @param {() => Promise<Node>} act
   */
  const twice = (id, label, act) => {
    const b = h('button', { type: 'button', class: 'secondary', id }, label);
    b.addEventListener('click', async () => {
      if (b.dataset.armed !== 'true') {
        b.dataset.armed = 'true';
        b.textContent = t('account.reset.confirm', { action: label });
        return;
      }
      b.setAttribute('disabled', '');
      try {
        replace(result, await act());
      } catch (err) {
        replace(result, h('p', { class: 'error' }, String(err instanceof APIError ? t('error.generic', { message: err.message }) : err)));
      }
    });
    return b;
  };
  return h('div', { class: 'card', id: 'user-account-actions' },
    h('h3', {}, t('account.admin')),
    h('div', { class: 'toolbar' },
      twice('reset-password', t('account.reset.password'), async () => {
        const res = await api.post('/users/' + u.id + '/password-reset');
        return h('div', { class: 'ok-card' },
          h('p', {}, t('account.reset.password.done', { name: u.name })),
          h('p', { class: 'muted' }, t('users.password_once')),
          h('div', { class: 'code', id: 'reset-password-value' }, res.password));
      }),
      u.totpEnabled ? twice('reset-totp', t('account.reset.totp'), async () => {
        await api.post('/users/' + u.id + '/totp-reset');
        return h('p', { class: 'ok', id: 'reset-totp-done' }, t('account.reset.totp.done', { name: u.name }));
      }) : ''),
    result);
}

/**
 * The admin's setting of who must use a second factor.
 * @param {import('./app.js').User} me
 */
export async function securityCard(me) {
  const cur = await api.get('/settings/security');
  const saved = h('p', { class: 'ok', role: 'status' });
  const f = form({ class: 'card', id: 'security-settings' },
    h('h2', {}, t('account.policy')),
    field(t('account.policy.label'), 'totpRequired', select({ name: 'totpRequired' },
      ['off', 'admins', 'everyone'].map((p) => /** @type {[string, string]} */ ([p, t('account.policy.' + p)])), cur.totpRequired)),
    h('p', { class: 'muted' }, t('account.policy.help')),
    h('button', { type: 'submit' }, t('save')),
    saved);
  onSubmit(f, async (data) => {
    saved.textContent = '';
    await api.put('/settings/security', { totpRequired: str(data, 'totpRequired') });
    saved.textContent = t('account.policy.saved');
    // The admin may now have to set up their own second factor first.
    if (!me.totpEnabled && str(data, 'totpRequired') !== 'off') accountChanged();
  });
  return f;
}
