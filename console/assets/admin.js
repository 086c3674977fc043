// Admin pages: users, the support calendar, the catalogue of work
// categories, and the desk's default hourly rate with the billing rules
// and consent timers.
import { h, replace, select } from './dom.js';
import { api, APIError } from './api.js';
import { t, money, day, dateTime, weekdayName } from './i18n.js';
import { form, field, checkbox, onSubmit, str, today, errorText } from './forms.js';
import { moneyInput, minutesInput, readMoney, readMinutes, RATE_BAND } from './amount.js';
import { LANGS, ROLES, langOptions, categoryName, table } from './common.js';
import { userAccountActions, securityCard } from './account.js';
import { businessSettings } from './business.js';
import { recordingSettingsForm } from './recording.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/**
 * Checkboxes for the languages a technician speaks, as one field.
 * @param {string} chosen comma-separated
 */
function languageBoxes(chosen) {
  const set = new Set(chosen.split(',').map((s) => s.trim()));
  return h('span', { class: 'checks' }, ...LANGS.map((l) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'languages', value: l, checked: set.has(l) }), ' ', t('lang.' + l))));
}

/** @param {Ctx} ctx */
export async function usersView(ctx) {
  const { main, me } = ctx;
  /** @type {any[]} */
  let users = await api.get('/users');
  const list = h('div', { id: 'user-list' });
  const editSlot = h('div', { id: 'user-edit-slot' });
  const created = h('div', { id: 'created-user', 'aria-live': 'polite' });

  function renderList() {
    replace(list, table({ class: 'list', id: 'users' },
      [t('user.name'), t('user.email'), t('user.role'), t('user.lang'), t('user.languages'), t('user.active'), ''],
      users.map((u) => h('tr', { 'data-user': u.id, 'data-email': u.email, class: u.active ? '' : 'inactive' },
        h('td', {}, u.name, u.id === me.id ? h('span', { class: 'muted' }, ' ' + t('users.you')) : ''),
        h('td', {}, u.email),
        h('td', {}, t('role.' + u.role)),
        h('td', {}, t('lang.' + u.lang)),
        h('td', {}, u.languages.split(',').map((/** @type {string} */ l) => l.trim().toUpperCase()).join(', ')),
        h('td', {}, u.active ? t('yes') : t('no')),
        h('td', {}, h('button', { type: 'button', class: 'link edit-user', onclick: () => edit(u) }, t('edit')))))));
  }

  /** @param {any} u */
  function edit(u) {
    const f = form({ class: 'card', id: 'user-edit', 'data-user': u.id },
      h('h2', {}, t('users.edit', { name: u.name })),
      h('p', { class: 'muted' }, u.email),
      field(t('user.name'), 'name', h('input', { name: 'name', value: u.name, maxlength: 200 })),
      h('div', { class: 'row' },
        field(t('user.role'), 'role', select({ name: 'role' }, ROLES.map((r) => /** @type {[string, string]} */ ([r, t('role.' + r)])), u.role)),
        field(t('user.lang'), 'lang', select({ name: 'lang' }, langOptions(), u.lang))),
      field(t('user.languages'), 'languages', languageBoxes(u.languages)),
      checkbox(t('user.active'), 'active', u.active),
      h('div', { class: 'toolbar' },
        h('button', { type: 'submit' }, t('save')),
        h('button', { type: 'button', class: 'secondary', onclick: () => replace(editSlot) }, t('cancel'))),
      userAccountActions(u));
    onSubmit(f, async (data) => {
      await api.put('/users/' + u.id, { name: str(data, 'name'), role: str(data, 'role'), lang: str(data, 'lang'),
        languages: data.getAll('languages').join(','), active: data.get('active') === 'on' });
      users = await api.get('/users');
      renderList();
      replace(editSlot);
    });
    replace(editSlot, f);
    /** @type {HTMLInputElement} */ (f.querySelector('input[name=name]')).focus();
  }

  const f = form({ class: 'card', id: 'new-user' },
    h('h2', {}, t('users.new')),
    field(t('user.email'), 'email', h('input', { name: 'email', type: 'email', maxlength: 254, autocomplete: 'off' })),
    field(t('user.name'), 'name', h('input', { name: 'name', maxlength: 200, autocomplete: 'off' })),
    h('div', { class: 'row' },
      field(t('user.role'), 'role', select({ name: 'role' }, ROLES.map((r) => /** @type {[string, string]} */ ([r, t('role.' + r)])), 'technician')),
      field(t('user.lang'), 'lang', select({ name: 'lang' }, langOptions(), 'nl'))),
    field(t('user.languages'), 'languages', languageBoxes('nl')),
    h('button', { type: 'submit' }, t('users.create')));
  onSubmit(f, async (data) => {
    const u = await api.post('/users', { email: str(data, 'email'), name: str(data, 'name'), role: str(data, 'role'),
      lang: str(data, 'lang'), languages: data.getAll('languages').join(',') });
    replace(created, h('div', { class: 'card ok-card', id: 'user-created', 'data-email': u.email },
      h('p', {}, t('users.created', { name: u.name, email: u.email })),
      h('p', { class: 'muted' }, t('users.password_once')),
      h('div', { class: 'code', id: 'new-password' }, u.password)));
    f.reset();
    users = await api.get('/users');
    renderList();
  });

  renderList();
  replace(main, h('h1', {}, t('users.title')),
    h('div', { class: 'columns' },
      h('div', { class: 'main-col' }, list, editSlot),
      h('div', { class: 'side-col' }, created, f, await securityCard(me))));
}

/** The weekdays in the order a Belgian week runs: Monday first. */
const WEEK = [1, 2, 3, 4, 5, 6, 0];

/** @param {Ctx} ctx */
export async function calendarView(ctx) {
  const { main } = ctx;
  /** @type {any} */
  let cal = await api.get('/calendar');
  const status = h('div', { id: 'calendar-status' });
  const formSlot = h('div');

  function showStatus() {
    status.dataset.open = String(cal.openNow);
    replace(status, h('p', { class: cal.openNow ? 'ok' : 'warn' },
      cal.openNow ? t('calendar.open_now') : t('calendar.closed_now'), ' ',
      !cal.openNow ? (cal.nextOpening ? t('calendar.next_opening', { when: dateTime(cal.nextOpening) }) : t('calendar.never_opens')) : ''));
  }

  /** @param {string} from @param {string} to */
  function period(from, to) {
    const el = h('span', { class: 'period', 'data-label': t('calendar.period') },
      h('input', { name: 'from', value: from, placeholder: 'HH:MM', size: 5, maxlength: 5, inputmode: 'numeric', 'aria-label': t('calendar.from') }),
      ' – ',
      h('input', { name: 'to', value: to, placeholder: 'HH:MM', size: 5, maxlength: 5, inputmode: 'numeric', 'aria-label': t('calendar.to') }),
      h('button', { type: 'button', class: 'icon remove-period', title: t('calendar.remove_period'), 'aria-label': t('calendar.remove_period'),
        onclick: () => el.remove() }, '×'),
      h('span', { class: 'field-error' }));
    return el;
  }

  /** @param {any} cl */
  function closure(cl) {
    const row = h('tr', { class: 'closure', 'data-label': t('calendar.closure') },
      h('td', {}, h('input', { name: 'from', value: cl.from, placeholder: 'YYYY-MM-DD / MM-DD', size: 11, maxlength: 10, 'aria-label': t('calendar.from') })),
      h('td', {}, h('input', { name: 'to', value: cl.to, placeholder: 'YYYY-MM-DD / MM-DD', size: 11, maxlength: 10, 'aria-label': t('calendar.to') })),
      h('td', {}, h('input', { name: 'label', value: cl.label || '', maxlength: 100, 'aria-label': t('calendar.closure_label') })),
      h('td', {}, h('button', { type: 'button', class: 'icon remove-closure', title: t('calendar.remove_closure'), 'aria-label': t('calendar.remove_closure'),
        onclick: () => row.remove() }, '×'), h('span', { class: 'field-error' })));
    return row;
  }

  function render() {
    const days = WEEK.map((wd) => {
      const periods = h('span', { class: 'periods' }, ...cal.weekly.filter((/** @type {any} */ p) => p.weekday === wd).map((/** @type {any} */ p) => period(p.from, p.to)));
      return h('div', { class: 'day', 'data-weekday': wd },
        h('span', { class: 'day-name' }, weekdayName(wd)),
        periods,
        h('button', { type: 'button', class: 'secondary small add-period', onclick: () => periods.append(period('09:00', '12:00')) }, t('calendar.add_period')));
    });
    // The default closure has no label of its own: named here, in the
    // admin's language, it is stored so once the admin saves.
    const closures = h('tbody', {}, ...cal.closures.map((/** @type {any} */ cl) =>
      closure(cal.default && !cl.label ? { ...cl, label: t('calendar.default_closure') } : cl)));
    const f = form({ class: 'card', id: 'calendar-form' },
      cal.default ? h('p', { class: 'warn', id: 'calendar-default' }, t('calendar.default_note')) : '',
      h('h2', {}, t('calendar.weekly')),
      h('p', { class: 'muted small' }, t('calendar.weekly_hint')),
      h('div', { class: 'week' }, ...days),
      h('div', { class: 'row' },
        field(t('calendar.holidays'), 'calendar.holidays', select({ name: 'holidays' }, [['BE', t('calendar.holidays_be')], ['', t('calendar.holidays_none')]], cal.holidays)),
        field(t('calendar.time_zone'), 'calendar.timeZone', h('input', { name: 'timeZone', value: cal.timeZone, maxlength: 64 }))),
      h('h2', {}, t('calendar.closures')),
      h('p', { class: 'muted small' }, t('calendar.closures_hint')),
      h('table', { class: 'list', id: 'closures' },
        h('thead', {}, h('tr', {}, h('th', {}, t('calendar.from')), h('th', {}, t('calendar.to')), h('th', {}, t('calendar.closure_label')), h('th', {}))),
        closures),
      h('button', { type: 'button', class: 'secondary small', id: 'add-closure', onclick: () => closures.append(closure({ from: '', to: '', label: '' })) }, t('calendar.add_closure')),
      h('div', { class: 'toolbar' }, h('button', { type: 'submit', id: 'save-calendar' }, t('save')), h('span', { class: 'ok', id: 'calendar-saved', role: 'status' })));
    onSubmit(f, async () => {
      // Name each row as the API will, so an error lands on its row.
      const weekly = [];
      for (const el of f.querySelectorAll('.day')) {
        const wd = Number(/** @type {HTMLElement} */ (el).dataset.weekday);
        for (const p of el.querySelectorAll('.period')) {
          const name = `calendar.weekly[${weekly.length}]`;
          p.setAttribute('data-field', name);
          /** @type {HTMLElement} */ (p.querySelector('.field-error')).dataset.errorFor = name;
          const from = /** @type {HTMLInputElement} */ (p.querySelector('input[name=from]')).value.trim();
          const to = /** @type {HTMLInputElement} */ (p.querySelector('input[name=to]')).value.trim();
          if (!/^\d\d:\d\d$/.test(from) || !/^\d\d:\d\d$/.test(to)) throw new APIError(400, { error: 'invalid', field: name, message: t('calendar.hhmm') });
          weekly.push({ weekday: wd, from, to });
        }
      }
      const list = [...f.querySelectorAll('.closure')].map((row, i) => {
        const name = `calendar.closures[${i}]`;
        row.setAttribute('data-field', name);
        /** @type {HTMLElement} */ (row.querySelector('.field-error')).dataset.errorFor = name;
        const v = (/** @type {string} */ n) => /** @type {HTMLInputElement} */ (row.querySelector(`input[name=${n}]`)).value.trim();
        return { from: v('from'), to: v('to'), label: v('label') };
      });
      const data = new FormData(f);
      cal = await api.put('/calendar', { timeZone: str(data, 'timeZone'), weekly, holidays: str(data, 'holidays'), closures: list });
      showStatus();
      render();
      const saved = document.getElementById('calendar-saved');
      if (saved) saved.textContent = t('saved');
    });
    replace(formSlot, f);
  }

  showStatus();
  render();
  replace(main, h('h1', {}, t('calendar.title')), status, formSlot);
}

/** @param {Ctx} ctx */
export async function categoriesView(ctx) {
  const { main } = ctx;
  /** @type {any[]} */
  let cats = await api.get('/categories');
  const list = h('div', { id: 'category-list' });
  const note = h('p', { class: 'ok', role: 'status', id: 'categories-saved' });
  const error = h('p', { class: 'error', role: 'alert' });
  function render() {
    replace(list, table({ class: 'list', id: 'categories' }, [t('category.name'), t('category.covered')],
      cats.map((c) => h('tr', { 'data-category': c.code, class: c.covered ? 'covered' : 'billable' },
        h('td', {}, h('label', { for: 'covered-' + c.code }, categoryName(c))),
        h('td', {}, h('label', { class: 'check' },
          h('input', { type: 'checkbox', id: 'covered-' + c.code, checked: c.covered, onchange: async (/** @type {Event} */ e) => {
            const box = /** @type {HTMLInputElement} */ (e.target);
            error.textContent = note.textContent = '';
            try {
              cats = await api.put('/categories/' + c.id, { covered: box.checked });
              render();
              note.textContent = t('saved');
            } catch (err) {
              box.checked = !box.checked;
              error.textContent = errorText(err);
            }
          } }), ' ', c.covered ? t('coverage.covered') : t('coverage.billable')))))));
  }
  render();
  replace(main, h('h1', {}, t('categories.title')), h('p', { class: 'muted' }, t('categories.hint')), list, note, error);
}

/** @param {Ctx} ctx */
export async function ratesView(ctx) {
  const { main } = ctx;
  /** @type {any[]} */
  let rates = await api.get('/rates/default');
  const list = h('div', { id: 'rate-list' });
  function render() {
    const now = today();
    // The rate in force is the last one recorded from the latest date
    // not after today (the API lists them oldest first, as it applies
    // them): of two rates from the same day, the later one counts.
    const current = rates.filter((r) => r.effectiveFrom <= now).pop();
    replace(list, rates.length === 0 ? h('p', { class: 'warn', id: 'no-rate' }, t('rates.empty')) :
      table({ class: 'list', id: 'rates' }, [t('rate.from'), t('rate.rate'), ''],
        [...rates].sort((a, b) => b.effectiveFrom.localeCompare(a.effectiveFrom)).map((r) =>
          h('tr', { class: r === current ? 'current' : '' },
            h('td', {}, day(r.effectiveFrom)), h('td', {}, t('per_hour', { amount: money(r.centsPerHour) })),
            h('td', {}, r === current ? h('span', { class: 'badge' }, t('rates.current')) : r.effectiveFrom > now ? t('rates.future') : '')))));
  }
  const f = form({ class: 'card', id: 'new-rate' },
    h('h2', {}, t('rates.new')),
    h('div', { class: 'row' },
      field(t('rate.amount'), 'centsPerHour', moneyInput('rate')),
      field(t('rate.from'), 'effectiveFrom', h('input', { type: 'date', name: 'effectiveFrom', value: today() }))),
    h('button', { type: 'submit' }, t('rate.add')));
  onSubmit(f, async (data) => {
    rates = await api.post('/rates/default', { centsPerHour: readMoney(f, 'rate', 'centsPerHour', RATE_BAND), effectiveFrom: str(data, 'effectiveFrom') });
    f.reset();
    // A reset fires no input event: the amount's read-back clears with it.
    f.querySelector('input[name=rate]')?.dispatchEvent(new Event('input'));
    render();
  });
  render();
  const [rules, timers, recording] = await Promise.all([api.get('/settings/billing'), api.get('/settings/consent'), api.get('/settings/recording')]);
  replace(main, h('h1', {}, t('rates.title')), h('p', { class: 'muted' }, t('rates.hint')),
    h('div', { class: 'columns' }, h('div', { class: 'main-col' }, list), h('div', { class: 'side-col' }, f)),
    h('div', { class: 'columns' }, h('div', { class: 'main-col' }, billingRulesForm(rules)), h('div', { class: 'side-col' }, consentTimersForm(timers), recordingSettingsForm(recording))),
    ...businessSettings());
}

/**
 * The saved values of a setting, newest first.
 * @param {string} id
 * @param {any[]} history
 * @param {(value: string, key: string) => string} describe
 */
function settingHistory(id, history, describe) {
  if (!history || history.length === 0) return h('p', { class: 'muted', id }, t('settings.history_empty'));
  return h('details', { id }, h('summary', {}, t('settings.history')),
    h('ul', { class: 'history' }, ...history.map((c) => h('li', {}, dateTime(c.at), ' — ', c.actor, ': ', describe(c.value, c.key)))));
}

/** @param {string} value the rules as saved (JSON) */
function describeRules(value) {
  try {
    const r = JSON.parse(value);
    return t('settings.billing.summary', { increment: r.incrementMinutes, minimum: r.minimumMinutes,
      surcharge: r.outOfHoursSurchargePercent, vat: r.vatPercent, merge: r.mergeTicketDay ? t('yes') : t('no') });
  } catch {
    return value;
  }
}

/**
 * The desk's billing rules, as the statements apply them.
 * @param {any} rules
 * @returns {HTMLElement}
 */
function billingRulesForm(rules) {
  const saved = h('p', { class: 'ok', role: 'status' });
  const num = (/** @type {string} */ name, /** @type {number} */ value, /** @type {number} */ min, /** @type {number} */ max) =>
    h('input', { type: 'number', name, value, min, max, step: 1, required: true });
  const f = form({ class: 'card', id: 'billing-rules' },
    h('h2', {}, t('settings.billing.title')),
    h('p', { class: 'muted' }, t('settings.billing.hint')),
    h('div', { class: 'row' },
      field(t('settings.billing.increment'), 'incrementMinutes', minutesInput({ name: 'incrementMinutes', value: rules.incrementMinutes })),
      field(t('settings.billing.minimum'), 'minimumMinutes', minutesInput({ name: 'minimumMinutes', value: rules.minimumMinutes }))),
    h('div', { class: 'row' },
      field(t('settings.billing.surcharge'), 'outOfHoursSurchargePercent', num('outOfHoursSurchargePercent', rules.outOfHoursSurchargePercent, 0, 1000)),
      field(t('settings.billing.vat'), 'vatPercent', num('vatPercent', rules.vatPercent, 0, 100))),
    checkbox(t('settings.billing.merge'), 'mergeTicketDay', rules.mergeTicketDay),
    h('button', { type: 'submit' }, t('save')), saved,
    settingHistory('billing-rules-history', rules.history, describeRules));
  onSubmit(f, async (data) => {
    saved.textContent = '';
    const next = await api.put('/settings/billing', {
      mergeTicketDay: data.get('mergeTicketDay') === 'on',
      incrementMinutes: readMinutes(f, 'incrementMinutes', 'incrementMinutes', 1, 1440),
      minimumMinutes: readMinutes(f, 'minimumMinutes', 'minimumMinutes', 0, 1440),
      outOfHoursSurchargePercent: Number(data.get('outOfHoursSurchargePercent')), vatPercent: Number(data.get('vatPercent')) });
    f.replaceWith(billingRulesForm(next));
    /** @type {HTMLElement} */ (document.querySelector('#billing-rules .ok')).textContent = t('saved');
  });
  return f;
}

/**
 * How often the agent asks the customer whether to keep sharing, and how
 * long it waits for the answer (also the time to answer a cost notice that
 * comes again, or an estimate overrun).
 * @param {any} timers
 * @returns {HTMLElement}
 */
function consentTimersForm(timers) {
  const saved = h('p', { class: 'ok', role: 'status' });
  const f = form({ class: 'card', id: 'consent-timers' },
    h('h2', {}, t('settings.consent.title')),
    h('p', { class: 'muted' }, t('settings.consent.hint')),
    field(t('settings.consent.every'), 'reconfirmSeconds',
      minutesInput({ name: 'reconfirmMinutes', value: Math.round(timers.reconfirmSeconds / 60) })),
    field(t('settings.consent.answer'), 'reconfirmAnswerSeconds',
      h('input', { type: 'number', name: 'reconfirmAnswerSeconds', value: timers.reconfirmAnswerSeconds, min: 5, max: 600, step: 1 })),
    h('button', { type: 'submit' }, t('save')), saved,
    settingHistory('consent-timers-history', timers.history, (v, key) =>
      t(key.endsWith('answer_seconds') ? 'settings.consent.answer_was' : 'settings.consent.every_was', { seconds: v })));
  onSubmit(f, async (data) => {
    const next = await api.put('/settings/consent', { reconfirmSeconds: readMinutes(f, 'reconfirmMinutes', 'reconfirmSeconds', 1, 480) * 60,
      reconfirmAnswerSeconds: Number(data.get('reconfirmAnswerSeconds')) });
    f.replaceWith(consentTimersForm(next));
    /** @type {HTMLElement} */ (document.querySelector('#consent-timers .ok')).textContent = t('saved');
  });
  return f;
}
