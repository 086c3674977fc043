// The customer's side of a ticket, for the technician: the files the
// customer attached in the portal, and the questions put to the customer
// (estimates over an hour, out-of-contract work the desk announced) with
// who approved which text when. The desk announces out-of-contract work
// here; the customer answers it in the portal before the work starts.
import { h, replace } from './dom.js';
import { api, API } from './api.js';
import { t, money, dateTime } from './i18n.js';
import { form, field, onSubmit, str, errorText } from './forms.js';
import { card, table } from './common.js';
import { minutesInput, readMinutes } from './amount.js';

/**
 * A file size as people read it.
 * @param {number} n bytes
 */
function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Where a question stands: approved, refused, or waiting for the customer.
 * @param {any} q
 */
function answerState(q) {
  if (q.approval) return h('span', { class: 'ok', 'data-answer': 'approved' }, t('ticket.approvals.approved', { by: q.approvedBy, at: dateTime(q.approval.at) }));
  if (q.refusal) return h('span', { class: 'error', 'data-answer': 'refused' }, t('ticket.approvals.refused', { by: q.refusedBy, at: dateTime(q.refusal.at) }));
  return h('span', { class: 'warn' }, t('ticket.approvals.open'));
}

/**
 * The recorded answer: the text the customer answered, its version and hash.
 * @param {any} a an approval or a refusal, or null
 */
function answerRecord(a) {
  return a ? h('p', { class: 'muted small' }, a.text, ` (${a.version}, SHA-256 ${a.textSha256.slice(0, 12)}…)`) : null;
}

/**
 * The card; it loads its own data and reloads after an announcement.
 * @param {number} ticketID
 */
export function customerSideCard(ticketID) {
  const files = h('div', { id: 'ticket-files' });
  const questions = h('div', { id: 'ticket-approvals' });
  async function load() {
    const [fs, qs] = await Promise.all([api.get(`/tickets/${ticketID}/files`), api.get(`/tickets/${ticketID}/approvals`)]);
    replace(files, fs.length === 0 ? h('p', { class: 'muted' }, t('ticket.files.none')) :
      table({ class: 'list' }, [t('ticket.files.name'), t('ticket.files.size'), t('ticket.files.by'), t('ticket.created')],
        fs.map((/** @type {any} */ f) => [
          h('a', { href: `${API}/tickets/${ticketID}/files/${f.id}`, download: f.name }, f.name),
          size(f.size), f.by || '—', dateTime(f.createdAt)])));
    replace(questions, qs.length === 0 ? h('p', { class: 'muted' }, t('ticket.approvals.none')) :
      h('ul', { class: 'plain' }, ...qs.map((/** @type {any} */ q) => h('li', { 'data-approval': q.id },
        h('strong', {}, t('ticket.approvals.kind.' + q.kind)), ' ',
        q.description, ` — ${q.minutes} min, ${money(q.amountCents)} `,
        answerState(q), answerRecord(q.approval || q.refusal)))));
  }
  const announce = form({ id: 'out-of-contract-form', hidden: true },
    field(t('ticket.approvals.description'), 'description', h('input', { name: 'description', maxlength: 500, required: true })),
    field(t('ticket.approvals.reason'), 'reason', h('input', { name: 'reason', maxlength: 300, required: true })),
    field(t('ticket.approvals.minutes'), 'minutes', minutesInput({ name: 'minutes', value: 60, required: true })),
    h('button', { type: 'submit' }, t('ticket.approvals.announce')));
  onSubmit(announce, async (data) => {
    await api.post(`/tickets/${ticketID}/out-of-contract`, {
      description: str(data, 'description'), reason: str(data, 'reason'), minutes: readMinutes(announce, 'minutes', 'minutes', 1, 6000) });
    announce.reset();
    announce.hidden = true;
    await load();
  });
  const open = h('button', { type: 'button', class: 'secondary', id: 'announce-out-of-contract',
    onclick: () => { announce.hidden = !announce.hidden; } }, t('ticket.approvals.announce'));
  load().catch((err) => replace(questions, h('p', { class: 'error', role: 'alert' }, errorText(err))));
  return card({ id: 'customer-side' }, t('ticket.customer_side'),
    h('h3', {}, t('ticket.approvals.title')), questions, h('div', { class: 'toolbar' }, open), announce,
    h('h3', {}, t('ticket.files.title')), files);
}
