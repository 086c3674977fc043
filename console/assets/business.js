// Prepaid hours, Peppol invoices and e-mail in the console (issue 20):
// cards the customer, ticket, session, statement and settings pages add.
// Kept in one module of its own so those pages only gain a line each.

import { h, replace, select } from './dom.js';
import { api, query, API } from './api.js';
import { t, money, day, dateTime } from './i18n.js';
import { form, field, checkbox, onSubmit, str, today, errorText } from './forms.js';
import { moneyInput, readMoney, readHours } from './amount.js';
import { card, table } from './common.js';

/**
 * Minutes as the balance is spoken: "7 u 15".
 * @param {number} minutes
 */
export function hours(minutes) {
  const m = Math.abs(minutes) % 60;
  return t('prepaid.hours', { h: Math.trunc(minutes / 60), m: String(m).padStart(2, '0') });
}

/**
 * The balance line shown on a ticket and a session page: what is left
 * of the customer's prepaid hours, with the warning and expired hours.
 * Empty for a customer without blocks.
 * @param {number} customerId
 */
export function prepaidBalance(customerId) {
  const el = h('p', { class: 'prepaid-balance', id: 'prepaid-balance' });
  if (!customerId) return el;
  api.get('/customers/' + customerId + '/prepaid').then((/** @type {any} */ p) => {
    if (!p.balance) return;
    const b = p.balance;
    replace(el, t('prepaid.left', { left: hours(b.remainingMinutes) }),
      b.warning ? h('strong', { class: 'warning', id: 'prepaid-warning' }, ' ' + t('prepaid.warning')) : '',
      b.expiredMinutes > 0 ? h('span', { class: 'muted' }, ' ' + t('prepaid.expired', { expired: hours(b.expiredMinutes) })) : '');
  }, (err) => replace(el, h('span', { class: 'error' }, errorText(err))));
  return el;
}

/**
 * The customer page's card of prepaid blocks; admins add blocks and move
 * an expiry.
 * @param {number} customerId
 * @param {boolean} admin
 */
export function prepaidCard(customerId, admin) {
  const body = h('div', {}, h('p', { class: 'muted' }, t('loading')));
  const el = card({ id: 'customer-prepaid' }, t('prepaid.title'), body);
  /** @param {any} p */
  function render(p) {
    const b = p.balance;
    const rows = p.blocks.map((/** @type {any} */ k) => [day(k.purchasedOn), hours(k.minutes), money(k.priceCents),
      k.expiresOn ? day(k.expiresOn) : t('prepaid.never'), k.note || '']);
    const parts = [
      b ? h('p', { id: 'prepaid-summary' }, t('prepaid.left', { left: hours(b.remainingMinutes) }),
        b.warning ? h('strong', { class: 'warning' }, ' ' + t('prepaid.warning')) : '',
        b.expiredMinutes > 0 ? ' ' + t('prepaid.expired', { expired: hours(b.expiredMinutes) }) : '') :
        h('p', { class: 'muted' }, t('prepaid.none')),
      p.blocks.length ? table({ class: 'list', id: 'prepaid-blocks' },
        [t('prepaid.purchased'), t('prepaid.bought'), t('prepaid.price'), t('prepaid.expires'), t('prepaid.note')], rows) : '',
    ];
    if (admin) {
      const f = form({ id: 'new-prepaid' },
        h('h3', {}, t('prepaid.new')),
        field(t('prepaid.purchased'), 'purchasedOn', h('input', { name: 'purchasedOn', type: 'date', value: today() })),
        field(t('prepaid.bought'), 'minutes', h('input', { name: 'hours', type: 'text', inputmode: 'decimal', value: '10' })),
        field(t('prepaid.price'), 'priceCents', moneyInput('price')),
        field(t('prepaid.expires'), 'expiresOn', h('input', { name: 'expiresOn', type: 'date' })),
        field(t('prepaid.note'), 'note', h('input', { name: 'note', maxlength: 200 })),
        h('button', { type: 'submit' }, t('prepaid.add')));
      onSubmit(f, async (data) => {
        render(await api.post('/customers/' + customerId + '/prepaid', {
          purchasedOn: str(data, 'purchasedOn'), minutes: readHours(f, 'hours', 'minutes'),
          priceCents: readMoney(f, 'price', 'priceCents'), expiresOn: str(data, 'expiresOn'), note: str(data, 'note'),
        }));
      });
      parts.push(f);
    }
    replace(body, ...parts);
  }
  api.get('/customers/' + customerId + '/prepaid').then(render, (err) => replace(body, h('p', { class: 'error' }, errorText(err))));
  return el;
}

/**
 * The customer page's card of invoicing details (admins): address,
 * KBO/BCE number, VAT exemption.
 * @param {number} customerId
 */
export function invoicingCard(customerId) {
  const body = h('div', {}, h('p', { class: 'muted' }, t('loading')));
  const el = card({ id: 'customer-invoicing' }, t('invoicing.title'), body);
  api.get('/customers/' + customerId + '/invoicing').then((/** @type {any} */ v) => {
    const input = (/** @type {string} */ name, /** @type {string} */ key) =>
      field(t(key), name, h('input', { name, value: v[name] || '', maxlength: 200 }));
    const f = form({ id: 'invoicing-edit' },
      input('street', 'invoicing.street'), input('postcode', 'invoicing.postcode'), input('city', 'invoicing.city'),
      input('country', 'invoicing.country'), input('companyId', 'invoicing.companyId'), input('email', 'invoicing.email'),
      input('buyerReference', 'invoicing.buyerReference'),
      field(t('invoicing.exemption'), 'exemptionCode', select({ name: 'exemptionCode' },
        [['', t('invoicing.vat')], ...v.exemptions.map((/** @type {string} */ c) => [c, c])], v.exemptionCode)),
      input('exemptionReason', 'invoicing.exemptionReason'),
      h('button', { type: 'submit' }, t('save')));
    onSubmit(f, async (data) => {
      const out = {};
      for (const k of ['street', 'postcode', 'city', 'country', 'companyId', 'email', 'buyerReference', 'exemptionCode', 'exemptionReason']) {
        /** @type {any} */ (out)[k] = str(data, k);
      }
      await api.put('/customers/' + customerId + '/invoicing', out);
    });
    replace(body, f);
  }, (err) => replace(body, h('p', { class: 'error' }, errorText(err))));
  return el;
}

/**
 * The statement page's invoicing: approve the month, export its Peppol
 * invoice, correct it with a credit note, download the documents.
 * @param {number|string} customerId
 * @param {string} month YYYY-MM
 */
export function invoicesCard(customerId, month) {
  const body = h('div', {});
  const el = card({ id: 'invoices', class: 'card no-print' }, t('invoice.title'), body);
  /** @param {any} a */
  function render(a) {
    const approve = h('button', { type: 'button', id: 'approve-statement' }, t('invoice.approve', { month }));
    const error = h('p', { class: 'error', role: 'alert' });
    approve.addEventListener('click', () => act(api.post('/billing/approvals', { customer: customerId, month })));
    /** @param {Promise<any>} p */
    function act(p) {
      p.then(() => api.get('/billing/approvals' + query({ customer: customerId })).then(render),
        (err) => { error.textContent = errorText(err); });
    }
    const rows = a.approvals.map((/** @type {any} */ x) => {
      const actions = h('span', {});
      if (!x.withdrawn && !x.invoice) {
        const b = h('button', { type: 'button', class: 'export-invoice' }, t('invoice.export'));
        b.addEventListener('click', () => act(api.post('/billing/approvals/' + x.id + '/invoice', { kind: 'invoice' })));
        actions.append(b);
      }
      if (!x.withdrawn && x.invoice && !x.creditNote) {
        const b = h('button', { type: 'button', class: 'credit-note' }, t('invoice.credit'));
        b.addEventListener('click', () => { if (confirm(t('invoice.credit.confirm', { number: x.invoice }))) act(api.post('/billing/approvals/' + x.id + '/invoice', { kind: 'credit_note' })); });
        actions.append(b);
      }
      const link = (/** @type {string} */ n) => n ? h('a', { href: API + '/invoices/' + n, download: n + '.xml' }, n) : '—';
      return [day(x.periodStart) + ' – ' + day(x.periodEnd), dateTime(x.approvedAt), h('code', { title: x.sha256 }, x.sha256.slice(0, 12)),
        link(x.invoice), link(x.creditNote), actions];
    });
    replace(body, approve, error,
      rows.length ? table({ class: 'list', id: 'approvals' }, [t('invoice.period'), t('invoice.approved'), 'SHA-256',
        t('invoice.invoice'), t('invoice.creditNote'), ''], rows) : h('p', { class: 'muted' }, t('invoice.none')));
  }
  api.get('/billing/approvals' + query({ customer: customerId })).then(render, (err) => replace(body, h('p', { class: 'error' }, errorText(err))));
  return el;
}

/**
 * The prepaid part of a statement: what blocks paid, what is left.
 * @param {any} st the statement
 */
export function statementPrepaid(st) {
  const p = st.prepaid;
  if (!p) return h('p', { id: 'statement-prepaid', hidden: true });
  return h('p', { id: 'statement-prepaid' }, t('prepaid.statement', {
    deducted: hours(p.deductedMinutes), regie: hours(st.totals.regieMinutes || 0), left: hours(p.remainingMinutes),
  }), p.expiredMinutes > 0 ? ' ' + t('prepaid.expired', { expired: hours(p.expiredMinutes) }) : '',
  p.warning ? h('strong', { class: 'warning' }, ' ' + t('prepaid.warning')) : '');
}

/** The admin settings cards: company details, mail, prepaid threshold. */
export function businessSettings() {
  const company = h('div', {});
  const mail = h('div', {});
  const prepaid = h('div', {});
  api.get('/settings/company').then((/** @type {any} */ c) => {
    const input = (/** @type {string} */ name, /** @type {string} */ key) => field(t(key), name, h('input', { name, value: c[name] ?? '' }));
    const f = form({ id: 'company-edit' }, input('name', 'company.name'), input('street', 'invoicing.street'),
      input('postcode', 'invoicing.postcode'), input('city', 'invoicing.city'), input('country', 'invoicing.country'),
      input('vatNumber', 'company.vatNumber'), input('companyId', 'invoicing.companyId'), input('iban', 'company.iban'),
      input('email', 'invoicing.email'), input('paymentDays', 'company.paymentDays'), h('button', { type: 'submit' }, t('save')));
    onSubmit(f, async (data) => {
      await api.put('/settings/company', { name: str(data, 'name'), street: str(data, 'street'), postcode: str(data, 'postcode'),
        city: str(data, 'city'), country: str(data, 'country'), vatNumber: str(data, 'vatNumber'), companyId: str(data, 'companyId'),
        iban: str(data, 'iban'), email: str(data, 'email'), paymentDays: Number(str(data, 'paymentDays')) });
    });
    replace(company, f);
  }, (err) => replace(company, h('p', { class: 'error' }, errorText(err))));
  api.get('/settings/mail').then((/** @type {any} */ m) => {
    const f = form({ id: 'mail-edit' },
      field(t('mail.host'), 'host', h('input', { name: 'host', value: m.host || '' })),
      field(t('mail.port'), 'port', h('input', { name: 'port', type: 'number', value: m.port || 587 })),
      checkbox(t('mail.starttls'), 'startTLS', m.startTLS),
      field(t('mail.user'), 'user', h('input', { name: 'user', value: m.user || '', autocomplete: 'off' })),
      field(t('mail.password'), 'password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password',
        placeholder: m.passwordSet ? t('mail.password.kept') : '' })),
      field(t('mail.from'), 'from', h('input', { name: 'from', value: m.from || '' })),
      field(t('mail.publicUrl'), 'publicUrl', h('input', { name: 'publicUrl', value: m.publicUrl || '' })),
      h('button', { type: 'submit' }, t('save')));
    onSubmit(f, async (data) => {
      await api.put('/settings/mail', { host: str(data, 'host'), port: Number(str(data, 'port')), startTLS: data.get('startTLS') === 'on',
        user: str(data, 'user'), password: String(data.get('password') || ''), from: str(data, 'from'), publicUrl: str(data, 'publicUrl') });
    });
    const rows = m.queue.map((/** @type {any} */ q) => [dateTime(q.createdAt), q.kind, q.to || '—',
      q.sentAt && !q.sentAt.startsWith('0001') ? dateTime(q.sentAt) : t('mail.queued'), String(q.attempts), q.lastError || '']);
    replace(mail, m.enabled ? f : h('p', { class: 'muted' }, t('mail.disabled')),
      rows.length ? table({ class: 'list', id: 'mail-queue' }, [t('mail.created'), t('mail.kind'), t('mail.to'), t('mail.sent'),
        t('mail.attempts'), t('mail.error')], rows) : '');
  }, (err) => replace(mail, h('p', { class: 'error' }, errorText(err))));
  api.get('/settings/prepaid').then((/** @type {any} */ p) => {
    const f = form({ id: 'prepaid-threshold' },
      field(t('prepaid.threshold'), 'warnMinutes', h('input', { name: 'warn', type: 'text', inputmode: 'decimal', value: String(p.warnMinutes / 60) })),
      h('button', { type: 'submit' }, t('save')));
    onSubmit(f, async (data) => {
      await api.put('/settings/prepaid', { warnMinutes: readHours(f, 'warn', 'warnMinutes') });
    });
    replace(prepaid, f);
  }, (err) => replace(prepaid, h('p', { class: 'error' }, errorText(err))));
  return [card({ id: 'settings-company' }, t('company.title'), company), card({ id: 'settings-mail' }, t('mail.title'), mail),
    card({ id: 'settings-prepaid' }, t('prepaid.threshold.title'), prepaid)];
}
