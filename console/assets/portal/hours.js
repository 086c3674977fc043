// Hours and invoices: the company's prepaid balance block by block, and
// its invoices and credit notes, each readable in the browser or
// downloaded as its Peppol XML.
import { h, replace } from '../dom.js';
import { t, day, money, dateTime } from '../i18n.js';
import { table, card } from '../common.js';
import { portal } from './papi.js';

/** @typedef {import('./portal.js').Ctx} Ctx */

/**
 * Minutes as hours and minutes: "3 u 30 min".
 * @param {number} minutes
 */
export function hoursText(minutes) {
  const total = Math.max(0, Math.round(minutes));
  const h = Math.floor(total / 60), m = total % 60;
  return !m ? t('hours.h', { h }) : !h ? t('hours.m', { m }) : t('hours.hm', { h, m });
}

/**
 * The prepaid balance in one line.
 * @param {any} prepaid null without prepaid hours
 */
export function balanceLine(prepaid) {
  if (!prepaid) return h('p', { class: 'muted', id: 'balance-none' }, t('hours.none'));
  return h('p', { id: 'balance-left', class: prepaid.warning ? 'warn' : '', 'data-minutes': prepaid.remainingMinutes },
    t('hours.left', { hours: hoursText(prepaid.remainingMinutes) }));
}

/** @param {Ctx} ctx */
export async function hoursView({ main }) {
  const [hours, docs] = await Promise.all([portal.get('/hours'), portal.get('/invoices')]);
  const prepaid = hours.prepaid;
  const blocks = prepaid ? prepaid.blocks || [] : [];
  // What every block gave so far, earlier statements' use included.
  const used = blocks.reduce((/** @type {number} */ sum, /** @type {any} */ b) => sum + b.usedMinutes + b.deductedMinutes, 0);
  replace(main,
    h('h1', {}, t('hours.title')),
    card({ id: 'prepaid' }, t('hours.balance'), balanceLine(prepaid),
      prepaid ? h('p', { class: 'muted', id: 'balance-used' }, t('hours.used', { hours: hoursText(used) })) : '',
      prepaid && prepaid.expiredMinutes ? h('p', { class: 'muted' }, t('hours.expired', { hours: hoursText(prepaid.expiredMinutes) })) : '',
      blocks.length ? table({ class: 'list small', id: 'blocks' },
        [t('hours.block.bought'), t('hours.block.hours'), t('hours.block.used'), t('hours.block.left'), t('hours.block.expires')],
        blocks.map((/** @type {any} */ b) => [day(b.purchasedOn), hoursText(b.minutes), hoursText(b.usedMinutes + b.deductedMinutes),
          hoursText(b.remainingMinutes), b.expiresOn ? day(b.expiresOn) : t('hours.block.never')])) : ''),
    card({ id: 'invoices' }, t('invoices.title'),
      docs.invoices.length ? table({ class: 'list', id: 'invoice-list' },
        [t('invoices.number'), t('invoices.kind'), t('invoices.date'), t('invoices.amount'), t('invoices.total'), ''],
        docs.invoices.map((/** @type {any} */ inv) => h('tr', { 'data-number': inv.number },
          h('td', { class: 'nowrap' }, inv.number),
          h('td', {}, t('invoices.kind.' + inv.kind)),
          h('td', { class: 'nowrap' }, day(inv.issueDate)),
          h('td', { class: 'num' }, money(inv.amountCents)),
          h('td', { class: 'num' }, money(inv.totalCents)),
          h('td', { class: 'nowrap' },
            h('a', { href: inv.viewPath, class: 'invoice-view', target: '_blank', rel: 'noopener' }, t('invoices.view')), ' · ',
            h('a', { href: inv.xmlPath, download: inv.number + '.xml', class: 'invoice-xml' }, t('invoices.xml'))))))
        : h('p', { class: 'muted', id: 'no-invoices' }, t('invoices.none')),
      h('p', { class: 'muted small' }, t('invoices.help'))),
    card({ id: 'statements' }, t('statements.title'), h('p', { class: 'muted' }, t('statements.help')),
      docs.statements.length ? table({ class: 'list', id: 'statement-list' },
        [t('statements.period'), t('statements.approved'), t('invoices.amount'), t('invoices.total'), t('statements.document')],
        docs.statements.map((/** @type {any} */ st) => h('tr', { 'data-id': st.id, class: st.withdrawn ? 'inactive' : '' },
          h('td', { class: 'nowrap' }, `${day(st.periodStart)} – ${day(st.periodEnd)}`),
          h('td', { class: 'nowrap' }, dateTime(st.approvedAt)),
          h('td', { class: 'num' }, money(st.amountCents)),
          h('td', { class: 'num' }, money(st.totalCents)),
          h('td', {}, st.withdrawn ? t('statements.withdrawn', { number: st.creditNote })
            : st.invoice ? t('statements.invoiced', { number: st.invoice }) : t('statements.pending')))))
        : h('p', { class: 'muted', id: 'no-statements' }, t('statements.none'))));
}
