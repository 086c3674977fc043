// Hours and invoices: the company's prepaid balance block by block, and
// its invoices and credit notes, each readable in the browser or
// downloaded as its Peppol XML.
import { h, replace } from '../dom.js';
import { t, day, money } from '../i18n.js';
import { table, card } from '../common.js';
import { P, portal } from './papi.js';

/** @typedef {import('./portal.js').Ctx} Ctx */

/**
 * Minutes as hours and minutes: "3 u 30 min".
 * @param {number} minutes
 */
export function hoursText(minutes) {
  const m = Math.max(0, Math.round(minutes));
  return t('hours.hm', { h: Math.floor(m / 60), m: m % 60 });
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
  const [hours, invoices] = await Promise.all([portal.get('/hours'), portal.get('/invoices')]);
  const prepaid = hours.prepaid;
  const blocks = prepaid ? prepaid.blocks || [] : [];
  replace(main,
    h('h1', {}, t('hours.title')),
    card({ id: 'prepaid' }, t('hours.balance'), balanceLine(prepaid),
      prepaid ? h('p', { class: 'muted' }, t('hours.used', { hours: hoursText(prepaid.deductedMinutes) })) : '',
      prepaid && prepaid.expiredMinutes ? h('p', { class: 'muted' }, t('hours.expired', { hours: hoursText(prepaid.expiredMinutes) })) : '',
      blocks.length ? table({ class: 'list small', id: 'blocks' },
        [t('hours.block.bought'), t('hours.block.hours'), t('hours.block.used'), t('hours.block.left'), t('hours.block.expires')],
        blocks.map((/** @type {any} */ b) => [day(b.purchasedOn), hoursText(b.minutes), hoursText(b.usedMinutes + b.deductedMinutes),
          hoursText(b.remainingMinutes), b.expiresOn ? day(b.expiresOn) : t('hours.block.never')])) : ''),
    card({ id: 'invoices' }, t('invoices.title'),
      invoices.length ? table({ class: 'list', id: 'invoice-list' },
        [t('invoices.number'), t('invoices.kind'), t('invoices.date'), t('invoices.amount'), t('invoices.total'), ''],
        invoices.map((/** @type {any} */ inv) => h('tr', { 'data-number': inv.number },
          h('td', { class: 'nowrap' }, inv.number),
          h('td', {}, t('invoices.kind.' + inv.kind)),
          h('td', { class: 'nowrap' }, day(inv.issueDate)),
          h('td', { class: 'num' }, money(inv.amountCents)),
          h('td', { class: 'num' }, money(inv.totalCents)),
          h('td', { class: 'nowrap' },
            h('a', { href: `${P}/invoices/${encodeURIComponent(inv.number)}/view`, class: 'invoice-view' }, t('invoices.view')), ' · ',
            h('a', { href: `${P}/invoices/${encodeURIComponent(inv.number)}`, download: inv.number + '.xml', class: 'invoice-xml' },
              t('invoices.xml'))))))
        : h('p', { class: 'muted', id: 'no-invoices' }, t('invoices.none')),
      h('p', { class: 'muted small' }, t('invoices.help'))));
}
