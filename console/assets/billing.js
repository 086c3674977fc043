// Billing for admins: a customer's monthly statement (printable), the CSV
// export of a period for the accountant, and the chart of billed and
// covered hours per month. And liveBilling, the timer, badge and amount of
// one running session, which the session page mounts. The relay computes
// every figure (docs/billing.md); these pages only show them.
import { h, replace, select } from './dom.js';
import { api, query, API } from './api.js';
import { t, tr, has, money, day, current } from './i18n.js';
import { form, field, onSubmit, str, today, errorText } from './forms.js';
import { table, card, vatText } from './common.js';
import { statementPrepaid, invoicesCard } from './business.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/** @param {string} ymd a date or a month, YYYY-MM[-DD] */
function monthOf(ymd) { return ymd.slice(0, 7); }

/**
 * The month n months after ym (YYYY-MM).
 * @param {string} ym
 * @param {number} n
 */
function addMonths(ym, n) {
  const [y, m] = ym.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1 + n, 1)).toISOString().slice(0, 7);
}

/** @param {string} ym */
function lastDay(ym) {
  const [y, m] = ym.split('-').map(Number);
  return `${ym}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0')}`;
}

/** @param {string} ym "2026-03" as "maart 2026" in the page's language */
function monthName(ym) {
  const [y, m] = ym.split('-').map(Number);
  return new Intl.DateTimeFormat(current(), { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, 1)));
}

/** @param {string} reason */
function reasonText(reason) {
  return has('reason.' + reason) ? tr('reason.' + reason) : reason;
}

/** @param {string[]} reasons */
function reasonsText(reasons) {
  return reasons.map(reasonText).join('; ');
}

/** @param {Ctx} ctx */
export async function billingView(ctx) {
  const q = ctx.query;
  const month = /^\d{4}-\d{2}$/.test(q.get('month') || '') ? /** @type {string} */ (q.get('month')) : monthOf(today());
  const customerId = q.get('customer') || '';
  const customers = await api.get('/customers');
  const f = form({ class: 'card filters no-print', id: 'statement-form' },
    field(t('billing.customer'), 'customer', select({ name: 'customer' },
      [['', '—'], ...customers.map((/** @type {any} */ c) => /** @type {[string, string]} */ ([String(c.id), c.name]))], customerId)),
    field(t('billing.month'), 'month', h('input', { type: 'month', name: 'month', value: month })),
    h('button', { type: 'submit' }, t('billing.show')));
  onSubmit(f, async (data) => {
    location.hash = '#/billing' + query({ customer: str(data, 'customer'), month: str(data, 'month') });
  });

  const parts = [h('h1', { class: 'no-print' }, t('billing.title')), f];
  if (customerId) {
    try {
      const st = await api.get('/billing/statement' + query({ customer: customerId, month }));
      parts.push(statementCard(st), statementPrepaid(st), invoicesCard(customerId, month), chartCard(customerId, month));
    } catch (err) {
      parts.push(h('p', { class: 'error', id: 'statement-error' }, errorText(err)));
    }
  } else {
    parts.push(h('p', { class: 'muted no-print' }, t('billing.choose')));
  }
  parts.push(exportCard(month));
  replace(ctx.main, ...parts);
}

/**
 * The statement as it prints: the customer, every line, the totals.
 * @param {any} st
 */
function statementCard(st) {
  const time = new Intl.DateTimeFormat(current(), { timeStyle: 'short', timeZone: st.timeZone });
  /** @param {string} iso */
  const at = (iso) => time.format(new Date(iso));
  const rows = st.lines.map((/** @type {any} */ l) => h('tr', { class: l.kind + (l.covered ? ' covered' : ' billable'), 'data-intervention': l.intervention },
    h('td', {}, day(l.date)),
    h('td', {}, l.ticketRef || ''),
    h('td', {}, l.sessionIds.join(', ')),
    h('td', {}, l.technician ? l.technician.name : ''),
    h('td', {}, l.kind === 'adjustment' ? t('billing.adjustment') : t('billing.level.' + l.level)),
    h('td', {}, `${at(l.start)}–${at(l.end)}`),
    h('td', { class: 'num' }, l.kind === 'work' ? String(l.workedMinutes) : ''),
    h('td', { class: 'num' }, String(l.billedMinutes)),
    h('td', {}, l.covered ? t('billing.covered') : `${t('billing.billable')}: ${reasonsText(l.reasons)}` + (l.paidBy ? ` · ${t('prepaid.paid.' + l.paidBy)}` : '')),
    h('td', { class: 'num' }, money(l.centsPerHour) + (l.surchargePercent ? ` +${l.surchargePercent}%` : '')),
    h('td', { class: 'num amount' }, money(l.amountCents))));
  const tot = st.totals;
  return h('section', { class: 'card statement', id: 'statement', 'data-month': st.month },
    h('div', { class: 'toolbar' },
      h('h2', {}, t('billing.statement.title', { month: monthName(st.month), customer: st.customer.name })),
      h('button', { class: 'secondary no-print', id: 'print', onclick: () => window.print() }, t('billing.print'))),
    st.customer.vatNumber ? h('p', { class: 'muted' }, `${t('billing.vat')}: ${vatText(st.customer.vatNumber)}`) : '',
    st.lines.length === 0 ? h('p', { class: 'muted', id: 'statement-empty' }, t('billing.none')) :
      table({ class: 'list', id: 'statement-lines' }, [t('billing.date'), t('billing.ticket'), t('billing.session'), t('billing.technician'),
        t('billing.level'), `${t('billing.start')}–${t('billing.end')}`, t('billing.worked'), t('billing.billed'), t('billing.verdict'),
        t('billing.rate'), t('billing.amount')], rows),
    h('p', { class: 'muted' }, t('billing.total.minutes', { worked: tot.workedMinutes, covered: tot.coveredMinutes, billed: tot.billedMinutes })),
    h('dl', { class: 'facts totals', id: 'statement-totals' },
      h('dt', {}, t('billing.total.excl')), h('dd', { id: 'total-excl' }, money(tot.amountCents)),
      h('dt', {}, t('billing.total.vat', { percent: tot.vatPercent })), h('dd', { id: 'total-vat' }, money(tot.vatCents)),
      h('dt', {}, t('billing.total.incl')), h('dd', { id: 'total-incl' }, h('strong', {}, money(tot.totalCents)))));
}

/**
 * The customer's last twelve months, drawn by the relay.
 * @param {string} customerId
 * @param {string} month
 */
function chartCard(customerId, month) {
  const src = API + '/billing/chart.svg' + query({ customer: customerId, from: addMonths(month, -11), to: month, lang: current() });
  return card({ id: 'chart-card' }, t('billing.chart'), h('img', { src, id: 'billing-chart', alt: t('billing.chart'), class: 'chart' }));
}

/**
 * A download link for every billing line of a period, kept in step with
 * the dates chosen.
 * @param {string} month
 */
function exportCard(month) {
  const from = /** @type {HTMLInputElement} */ (h('input', { type: 'date', name: 'from', value: `${month}-01` }));
  const to = /** @type {HTMLInputElement} */ (h('input', { type: 'date', name: 'to', value: lastDay(month) }));
  const link = /** @type {HTMLAnchorElement} */ (h('a', { class: 'button', id: 'export-link' }, t('billing.download')));
  const update = () => {
    link.href = API + '/billing/export.csv' + query({ from: from.value, to: to.value, lang: current() });
    link.download = `meekijk-billing-${from.value}-${to.value}.csv`;
  };
  from.addEventListener('input', update);
  to.addEventListener('input', update);
  update();
  return card({ class: 'card no-print', id: 'export' }, t('billing.export'),
    h('p', { class: 'muted' }, t('billing.export.help')),
    h('div', { class: 'filters' }, field(t('billing.from'), 'from', from), field(t('billing.to'), 'to', to), link));
}

/** @param {number} secs as H:MM:SS */
function clock(secs) {
  const s = Math.max(0, Math.floor(secs));
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Shows the billing of a session as it runs: a timer, counted on every
 * second from the relay's worked seconds while the clock runs there; a
 * covered/billable badge with the reasons; and the amount so far. It asks
 * the relay again every 10 s, so the timer never drifts further than that
 * from the relay's clock. Returns the function that stops it, whose
 * refresh asks at once (after a change that alters the bill).
 * @param {HTMLElement} container
 * @param {number} sessionId
 * @returns {(() => void) & {refresh: () => Promise<void>}}
 */
export function liveBilling(container, sessionId) {
  const timer = h('span', { class: 'timer', id: 'billing-timer' }, clock(0));
  const badge = h('span', { class: 'badge', id: 'billing-badge' });
  const reasons = h('span', { class: 'muted', id: 'billing-reasons' });
  const amount = h('span', { id: 'billing-amount' });
  const merged = h('span', { class: 'muted', id: 'billing-merged' });
  const error = h('span', { class: 'error', id: 'billing-error' });
  replace(container, h('div', { class: 'live-billing', id: 'live-billing' },
    h('span', { class: 'muted' }, t('billing.live.worked')), timer, badge, reasons, amount, merged, error));

  let worked = 0;
  let running = false;
  let since = performance.now();
  let stopped = false;
  let asked = 0;

  const render = () => {
    timer.textContent = clock(worked + (running ? (performance.now() - since) / 1000 : 0));
  };

  const refresh = async () => {
    const mine = ++asked;
    try {
      const b = await api.get(`/sessions/${sessionId}/billing`);
      if (stopped || mine !== asked) return;
      worked = b.workedSeconds;
      running = b.running;
      since = performance.now();
      badge.textContent = b.covered ? t('billing.covered') : t('billing.billable');
      badge.className = 'badge ' + (b.covered ? 'covered' : 'billable');
      badge.dataset.covered = String(b.covered);
      reasons.textContent = reasonsText(b.reasons);
      amount.textContent = t('billing.live.amount', { amount: money(b.amountCents), minutes: b.billedMinutes });
      amount.dataset.cents = String(b.amountCents);
      const others = b.sessionIds.filter((/** @type {number} */ id) => id !== sessionId);
      merged.textContent = others.length ? t('billing.live.merged', { sessions: others.join(', ') }) : '';
      timer.classList.toggle('paused', !running);
      timer.title = running ? '' : t('billing.live.paused');
      error.textContent = '';
      render();
    } catch (err) {
      if (!stopped) error.textContent = t('billing.live.error', { message: err instanceof Error ? err.message : String(err) });
    }
  };

  refresh();
  // Drawn four times a second so the shown second turns within 250 ms of
  // the real one: an interval of 1 s, out of phase with the last answer,
  // would lag by up to a second.
  const tick = setInterval(render, 250);
  const poll = setInterval(refresh, 10000);
  const stop = () => {
    stopped = true;
    clearInterval(tick);
    clearInterval(poll);
  };
  return Object.assign(stop, { refresh });
}
