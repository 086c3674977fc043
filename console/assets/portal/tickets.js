// The portal's tickets: the company's list with the questions waiting for
// an answer and the prepaid balance (home), the request form, and one
// ticket with its notes, files and questions.
import { h, replace, select } from '../dom.js';
import { APIError } from '../api.js';
import { t, tr, current, dateTime, money } from '../i18n.js';
import { form, field, checkbox, onSubmit, str, errorText } from '../forms.js';
import { KINDS, PRIORITIES, wordOptions, statusBadge, table, card } from '../common.js';
import { P, portal } from './papi.js';
import { hoursText, balanceLine } from './hours.js';

/** @typedef {import('./portal.js').Ctx} Ctx */
/**
 * A question the desk asks before the work: an estimate over an hour or
 * work outside the contract ("estimate", "out_of_contract"), with the
 * exact text to approve.
 * @typedef {{kind: string, id: number, minutes: number, amountCents: number, text: string, version: string,
 *   approval: {at: string, lang: string}|null, refusal: {at: string, lang: string}|null, path: string}} Question
 */

/** Tickets whose questions are no longer asked. */
const DONE = ['resolved', 'closed'];

/**
 * The questions of a ticket's detail, each with where its answer goes.
 * @param {any} d the ticket as GET /tickets/{id} answers it
 * @returns {Question[]}
 */
function questionsOf(d) {
  return (d.approvals || []).map((/** @type {any} */ q) => ({ ...q, path: `/tickets/${d.id}/approvals/${q.id}` }));
}

/** @param {Ctx} ctx */
export async function homeView({ me, main }) {
  const [tickets, hours] = await Promise.all([portal.get('/tickets'), portal.get('/hours')]);
  // The questions are on each open ticket; a company has few open ones.
  const open = tickets.filter((/** @type {any} */ tk) => !DONE.includes(tk.status));
  const details = await Promise.all(open.slice(0, 30).map((/** @type {any} */ tk) => portal.get('/tickets/' + tk.id)));
  const waiting = details.flatMap((d) => questionsOf(d).filter((q) => !q.approval && !q.refusal).map((q) => ({ q, d })));
  const rows = tickets.map((/** @type {any} */ tk) => h('tr', { 'data-id': tk.id, 'data-reference': tk.reference },
    h('td', { class: 'nowrap' }, h('a', { href: '#/tickets/' + tk.id }, tk.reference)),
    h('td', {}, tk.title),
    h('td', {}, tr('ticket.kind.' + tk.kind)),
    h('td', {}, statusBadge(tk.status)),
    h('td', { class: 'nowrap' }, dateTime(tk.updatedAt))));
  replace(main,
    h('div', { class: 'toolbar' },
      h('h1', {}, t('home.title', { company: me.company })),
      h('a', { class: 'button', href: '#/new', id: 'new-request' }, t('home.new'))),
    waiting.length ? card({ id: 'questions', class: 'card attention' }, t('home.questions'),
      h('ul', { class: 'plain' }, ...waiting.map(({ q, d }) => h('li', { 'data-ticket': d.id },
        h('a', { href: '#/tickets/' + d.id }, `${d.reference} — ${d.title}`), ': ', questionTitle(q))))) : '',
    h('div', { class: 'columns home' },
      h('section', { class: 'main-col' },
        h('h2', {}, t('home.tickets')),
        tickets.length ? table({ class: 'list', id: 'tickets' },
          [t('ticket.reference'), t('ticket.title'), t('ticket.kind'), t('ticket.status'), t('ticket.updated')], rows)
          : h('p', { class: 'muted', id: 'no-tickets' }, t('home.none'))),
      h('aside', { class: 'side-col' }, card({ id: 'balance' }, t('hours.balance'), balanceLine(hours.prepaid),
        h('p', {}, h('a', { href: '#/hours' }, t('home.hours')))))));
}

/** @param {Question} q */
function questionTitle(q) {
  return q.kind === 'out_of_contract' ? t('question.out_of_contract', { amount: money(q.amountCents) })
    : t('question.estimate', { hours: hoursText(q.minutes) });
}

/** @param {Ctx} ctx */
export async function requestView({ main }) {
  const { picker, input: files } = filePicker(t('request.attachments'), true);
  const f = form({ id: 'request-form', class: 'card' },
    h('div', { class: 'row' },
      field(t('request.kind'), 'kind', select({ name: 'kind' }, wordOptions('ticket.kind.', KINDS), 'question')),
      field(t('request.priority'), 'priority', select({ name: 'priority' }, wordOptions('ticket.priority.', PRIORITIES), 'normal'))),
    h('p', { class: 'muted small' }, t('request.priority.help')),
    field(t('request.product'), 'product', h('input', { name: 'product', maxlength: 200, placeholder: t('request.product.example') })),
    field(t('request.title'), 'title', h('input', { name: 'title', maxlength: 200, required: true })),
    field(t('request.description'), 'description', h('textarea', { name: 'description', rows: 8, required: true,
      'aria-describedby': 'description-help' })),
    h('p', { class: 'muted small', id: 'description-help' }, t('request.description.help')),
    picker,
    h('button', { type: 'submit' }, t('request.submit')));
  onSubmit(f, async (data) => {
    /** @type {Record<string, string>} */
    const fields = {};
    for (const name of ['kind', 'priority', 'product', 'title', 'description']) fields[name] = str(data, name);
    // Files go as multipart with the same fields; without files, JSON.
    let body = /** @type {any} */ (fields);
    if (files.files && files.files.length) {
      body = new FormData();
      for (const [k, v] of Object.entries(fields)) body.append(k, v);
      for (const file of files.files) body.append('attachment', file);
    }
    const res = await portal.post('/tickets', body);
    replace(main, h('h1', {}, t('request.done.title')), requestDone(res));
  });
  replace(main, h('h1', {}, t('request.title.page')), h('p', { class: 'muted' }, t('request.intro')), f);
}

/**
 * What the person learns once the request is registered: its reference,
 * when it will be taken up, and whether it is covered or billable and why.
 * @param {any} res
 */
function requestDone(res) {
  // Open now: the relay answers the moment of filing.
  const soon = new Date(res.takenUpAt).getTime() - Date.now() < 60_000;
  return card({ id: 'request-done', class: 'card ok-card', 'data-reference': res.reference }, t('request.done.reference', { reference: res.reference }),
    h('p', { id: 'request-when' }, soon ? t('request.done.now') : t('request.done.later', { when: dateTime(res.takenUpAt) })),
    res.covered ? h('p', { class: 'ok', id: 'request-covered', 'data-covered': 'true' }, t('request.done.covered'))
      : h('div', { class: 'warn', id: 'request-covered', 'data-covered': 'false' }, t('request.done.billable'),
        h('ul', {}, ...(res.reasons || []).map((/** @type {string} */ r) => h('li', {}, tr('reason.' + r))))),
    h('p', { class: 'muted' }, t('request.done.mail')),
    h('p', { class: 'toolbar' }, h('a', { class: 'button', href: '#/tickets/' + res.id, id: 'request-open' }, t('request.done.open')),
      h('a', { href: '#/' }, t('request.done.home'))));
}

/** @param {Ctx} ctx */
export async function ticketView({ params, main }) {
  const id = params[0];
  const d = await portal.get('/tickets/' + id);
  const questions = questionsOf(d);
  const reload = () => ticketView({ params, main, me: /** @type {any} */ (null) }).catch((err) => {
    replace(main, h('p', { class: 'error', id: 'page-error', role: 'alert' }, errorText(err)));
  });
  replace(main,
    h('h1', { id: 'ticket-title' }, `${d.reference} — ${d.title}`),
    h('dl', { class: 'facts' },
      h('dt', {}, t('ticket.status')), h('dd', { id: 'ticket-status' }, statusBadge(d.status)),
      h('dt', {}, t('ticket.kind')), h('dd', {}, tr('ticket.kind.' + d.kind)),
      d.requestedPriority ? h('dt', {}, t('ticket.priority')) : '',
      d.requestedPriority ? h('dd', {}, tr('ticket.priority.' + d.requestedPriority)) : '',
      h('dt', {}, t('ticket.updated')), h('dd', {}, dateTime(d.updatedAt))),
    questions.length ? card({ id: 'questions' }, t('ticket.questions'), ...questions.map((q) => questionBlock(q, reload))) : '',
    h('div', { class: 'columns' },
      h('div', { class: 'main-col' }, notesCard(d, reload)),
      h('div', { class: 'side-col' }, filesCard(d, reload),
        sessionsCard(d))));
}

/**
 * The ticket's sessions, newest first: when, how long, covered or billed
 * and why, and a link to each receipt on the ticket's status page.
 * @param {any} d
 */
function sessionsCard(d) {
  const sessions = d.sessions || [];
  return card({ id: 'sessions' }, t('ticket.sessions'),
    sessions.length ? h('ul', { class: 'plain sessions', id: 'session-list' }, ...sessions.map(sessionItem))
      : h('p', { class: 'muted', id: 'no-sessions' }, t('ticket.sessions.none')),
    h('p', {}, h('a', { href: d.statusPath + '?lang=' + current(), id: 'status-link', target: '_blank', rel: 'noopener' }, t('ticket.sessions.open'))));
}

/**
 * One session: its start, the time worked, and what it bills.
 * @param {any} s
 */
function sessionItem(s) {
  /** @type {any[]} */
  const lines = [h('strong', {}, dateTime(s.startedAt))];
  if (s.running) {
    lines.push(h('span', { class: 'muted' }, t('session.running', { minutes: String(s.workedMinutes) })));
  } else if (!s.workedMinutes) {
    lines.push(h('span', { class: 'muted' }, t('session.nothing')));
  } else {
    lines.push(h('span', {}, t('session.worked', { minutes: String(s.workedMinutes) })));
    // Without a rate the desk cannot bill yet: the page says nothing of it.
    if (s.billing && s.covered) lines.push(h('span', { class: 'ok', 'data-billing': 'covered' }, t('session.covered')));
    if (s.billing && !s.covered) {
      lines.push(h('span', { class: 'billed', 'data-billing': 'billable', 'data-billed': String(s.billedMinutes) },
        t('session.billed', { minutes: String(s.billedMinutes) }) + (s.merged ? ' ' + t('session.merged') : '')),
      h('span', { class: 'muted small' }, t('session.why', { reasons: s.reasons })));
    }
  }
  if (s.receiptPath) {
    lines.push(h('a', { href: s.receiptPath, class: 'receipt-link', target: '_blank', rel: 'noopener' }, t('session.receipt')));
  }
  return h('li', { class: 'session', 'data-session': s.id }, ...lines);
}

/**
 * One question: the exact text to approve, and its answer or the form to
 * give one: approve it (the box ticked) or refuse it, after a
 * confirmation. A question or a doubt goes in a message.
 * @param {Question} q
 * @param {() => void} reload
 */
function questionBlock(q, reload) {
  const answer = q.approval || q.refusal;
  const block = h('section', { class: 'question', 'data-kind': q.kind, 'data-id': q.id, 'data-answered': String(!!answer) },
    h('h3', {}, questionTitle(q)),
    h('blockquote', { class: 'question-text', lang: answer ? answer.lang : current() }, q.text));
  if (q.approval) {
    block.append(h('p', { class: 'ok', 'data-answer': 'approved' }, t('question.approved', { at: dateTime(q.approval.at) })));
    return block;
  }
  if (q.refusal) {
    block.append(h('p', { class: 'warn', 'data-answer': 'refused' }, t('question.refused', { at: dateTime(q.refusal.at) })));
    return block;
  }
  const refuse = h('button', { type: 'button', class: 'secondary refuse' }, t('question.refuse'));
  const f = form({ class: 'answer' },
    checkbox(t('question.accept'), 'accept', false),
    h('div', { class: 'toolbar' },
      h('button', { type: 'submit', class: 'approve' }, t('question.approve')),
      refuse,
      h('button', { type: 'button', class: 'link', onclick: () => {
        /** @type {HTMLElement|null} */ (document.querySelector('#note-form textarea'))?.focus();
      } }, t('question.disagree'))));
  onSubmit(f, async (data) => {
    if (!data.get('accept')) throw new APIError(400, { error: 'invalid', field: 'accept' });
    await portal.post(q.path, { lang: current(), version: q.version, accept: true });
    reload();
  });
  refuse.addEventListener('click', () => {
    if (!confirm(t('question.refuse.confirm'))) return;
    portal.post(q.path, { lang: current(), version: q.version, refuse: true }).then(reload, (err) => {
      block.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
    });
  });
  block.append(f);
  return block;
}

/**
 * The notes the customer may see, and a form to add one.
 * @param {any} d
 * @param {() => void} reload
 */
function notesCard(d, reload) {
  const f = form({ id: 'note-form' },
    field(t('notes.add'), 'body', h('textarea', { name: 'body', rows: 4 })),
    h('button', { type: 'submit' }, t('notes.submit')));
  onSubmit(f, async (data) => {
    await portal.post(`/tickets/${d.id}/notes`, { body: str(data, 'body') });
    reload();
  });
  const notes = d.notes || [];
  return card({ id: 'notes' }, t('notes.title'),
    notes.length ? h('div', { id: 'note-list' }, ...notes.map((/** @type {any} */ n) => h('div', { class: 'note' },
      h('p', { class: 'meta' }, `${n.author} · ${dateTime(n.createdAt)}`),
      h('p', { class: 'body' }, n.body)))) : h('p', { class: 'muted' }, t('notes.none')),
    f);
}

/**
 * The ticket's files, downloaded as attachments, and a form to add one.
 * @param {any} d
 * @param {() => void} reload
 */
function filesCard(d, reload) {
  const { picker, input } = filePicker(t('files.add'), false);
  const f = form({ id: 'file-form' },
    picker,
    h('button', { type: 'submit' }, t('files.submit')));
  onSubmit(f, async () => {
    if (!input.files || !input.files.length) throw new APIError(400, { error: 'invalid', field: 'attachment' });
    const body = new FormData();
    body.append('attachment', input.files[0]);
    await portal.post(`/tickets/${d.id}/files`, body);
    reload();
  });
  const files = d.files || [];
  return card({ id: 'files' }, t('files.title'),
    files.length ? h('ul', { class: 'files', id: 'file-list' }, ...files.map((/** @type {any} */ x) => h('li', {},
      h('a', { href: `${P}/tickets/${d.id}/files/${x.id}`, download: x.name }, x.name),
      h('span', { class: 'muted small' }, ` · ${sizeText(x.size)} · ${x.by} · ${dateTime(x.createdAt)}`)))) : h('p', { class: 'muted' }, t('files.none')),
    f);
}

/**
 * A file field in the page's language: the browser draws its own file
 * button in the browser's language, so a labelled button of ours opens it
 * and the chosen names are shown beside it. Errors naming "attachment"
 * appear under it, as under any field.
 * @param {string} label
 * @param {boolean} multiple
 */
function filePicker(label, multiple) {
  const names = h('span', { class: 'muted file-names' }, t('files.chosen.none'));
  const input = /** @type {HTMLInputElement} */ (h('input', { name: 'attachment', type: 'file', multiple, class: 'visually-hidden',
    onchange: () => {
      const chosen = [...(input.files || [])].map((f) => f.name);
      names.textContent = chosen.length ? chosen.join(', ') : t('files.chosen.none');
    } }));
  const picker = h('div', { class: 'field', 'data-field': 'attachment', 'data-label': label },
    h('span', { class: 'label' }, label),
    h('div', { class: 'file-row' }, h('label', { class: 'button' }, input, t(multiple ? 'files.choose.many' : 'files.choose.one')), names),
    h('span', { class: 'field-error', 'data-error-for': 'attachment', role: 'alert' }));
  return { picker, input };
}

/**
 * A file size for reading, in the page's number format.
 * @param {number} n bytes
 */
function sizeText(n) {
  const units = ['B', 'kB', 'MB', 'GB'];
  let v = n, i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return new Intl.NumberFormat(current(), { maximumFractionDigits: i ? 1 : 0 }).format(v) + ' ' + units[i];
}
