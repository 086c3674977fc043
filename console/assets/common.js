// The words of the helpdesk (as the API spells them) and small pieces the
// pages share.
import { h } from './dom.js';
import { t, tr, current } from './i18n.js';

export const KINDS = ['question', 'problem', 'change_request', 'complaint'];
export const STATUSES = ['new', 'planned', 'in_progress', 'waiting_customer', 'resolved', 'closed'];
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
export const IMPACTS = ['low', 'medium', 'high'];
export const LANGS = ['nl', 'fr', 'en'];
export const ROLES = ['technician', 'admin'];
export const REFERENCE_ROLES = ['', 'general', 'technical', 'site'];
export const FEE_PERIODS = ['month', 'quarter', 'year'];
export const CONTRACT_STATUSES = ['active', 'suspended', 'cancelled'];

/**
 * [value, label] pairs for a <select> of catalog words ("ticket.kind.").
 * @param {string} prefix
 * @param {string[]} words
 * @returns {Array<[string, string]>}
 */
export function wordOptions(prefix, words) {
  return words.map((w) => [w, tr(prefix + w)]);
}

/** @returns {Array<[string, string]>} */
export function langOptions() {
  return LANGS.map((l) => [l, t('lang.' + l)]);
}

/**
 * A VAT number as people read it: "BE 0477.123.456" for a Belgian one
 * (the relay stores "BE0477123456"); others as stored.
 * @param {string|undefined|null} vat
 */
export function vatText(vat) {
  const m = /^BE(\d{4})(\d{3})(\d{3})$/.exec(vat || '');
  return m ? `BE ${m[1]}.${m[2]}.${m[3]}` : (vat || '');
}

/**
 * A category's name in the page's language.
 * @param {{code: string, names: Record<string, string>}} cat
 */
export function categoryName(cat) {
  return (cat.names && (cat.names[current()] || cat.names.nl)) || cat.code;
}

/**
 * What a contact is, for a list: "reference person (general)" or nothing.
 * @param {{referenceRole: string}} ct
 */
export function referenceLabel(ct) {
  return ct.referenceRole ? t('contact.role.' + ct.referenceRole) : t('contact.role.none');
}

/**
 * A contact as an option label, reference persons marked with a star.
 * @param {{name: string, referenceRole: string}} ct
 */
export function contactOptionLabel(ct) {
  return ct.referenceRole ? `★ ${ct.name} — ${t('contact.role.' + ct.referenceRole)}` : ct.name;
}

/**
 * A ticket status as a coloured badge.
 * @param {string} status
 */
export function statusBadge(status) {
  return h('span', { class: 'badge st-' + status, 'data-status': status }, tr('ticket.status.' + status));
}

/**
 * A table with a header row; rows are arrays of cells.
 * @param {Record<string, any>} attrs
 * @param {string[]} headers
 * @param {Array<Array<Node|string>|HTMLElement>} rows
 */
export function table(attrs, headers, rows) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => Array.isArray(r) ? h('tr', {}, ...r.map((c) => h('td', {}, c))) : r)));
}

/**
 * A titled card.
 * @param {Record<string, any>} attrs
 * @param {string} title
 * @param {...(Node|string|null|undefined|false)} children
 */
export function card(attrs, title, ...children) {
  return h('section', { class: 'card', ...attrs }, h('h2', {}, title), ...children);
}

/**
 * Puts text on the clipboard; falls back to selecting it in an input.
 * @param {HTMLInputElement} input
 */
export async function copyFrom(input) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand('copy');
  }
}
