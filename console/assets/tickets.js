// Tickets: the list with search and filters, the new-ticket form, and the
// ticket page with its entitlement, notes, history and remote sessions.
import { h, replace, select, setOptions, debounce } from './dom.js';
import { api, query, APIError } from './api.js';
import { t, tr, dateTime, zoneInput, fromZoneInput, zoneName } from './i18n.js';
import { codeKey } from './session.js';
import { form, field, checkbox, onSubmit, showError, clearErrors, errorText, str, id } from './forms.js';
import {
  KINDS, STATUSES, PRIORITIES, IMPACTS, wordOptions, categoryName, contactOptionLabel, statusBadge, table, card, copyFrom, vatText,
} from './common.js';
import { prepaidBalance } from './business.js';
import { customerSideCard } from './ticketcustomer.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/**
 * A table of tickets, or a line saying there are none.
 * @param {any[]} tickets
 * @param {{customer?: boolean}} [opts]
 */
export function ticketTable(tickets, opts = { customer: true }) {
  if (tickets.length === 0) return h('p', { class: 'muted', id: 'tickets-empty' }, t('tickets.empty'));
  return table({ id: 'tickets', class: 'list' },
    [t('ticket.reference'), t('ticket.subject'), ...(opts.customer ? [t('ticket.customer')] : []), t('ticket.kind'),
      t('ticket.status'), t('ticket.priority'), t('ticket.assignee'), t('ticket.created')],
    tickets.map((tk) => h('tr', { 'data-ticket': tk.id },
      h('td', {}, h('a', { href: '#/tickets/' + tk.id }, tk.reference)),
      h('td', {}, tk.title),
      opts.customer ? h('td', {}, h('a', { href: '#/customers/' + tk.customerId }, tk.customerName)) : null,
      h('td', {}, tr('ticket.kind.' + tk.kind)),
      h('td', {}, statusBadge(tk.status)),
      h('td', {}, tr('ticket.priority.' + tk.priority)),
      h('td', {}, tk.assigneeName || '—'),
      h('td', { class: 'nowrap' }, dateTime(tk.createdAt)))));
}

/** @param {Ctx} ctx */
export async function ticketsView(ctx) {
  const { main, query: q } = ctx;
  const [customers, users] = await Promise.all([api.get('/customers'), api.get('/users')]);
  const all = /** @type {[string, string]} */ (['', t('filter.all')]);
  const filters = form({ id: 'ticket-filters', class: 'filters', role: 'search' },
    field(t('tickets.search'), 'q', h('input', { type: 'search', name: 'q', value: q.get('q') || '', placeholder: t('tickets.search_hint') })),
    field(t('ticket.customer'), 'customerId', select({ name: 'customerId' }, [all, ...customers.map((/** @type {any} */ c) => [c.id, c.name])], q.get('customerId'))),
    field(t('ticket.status'), 'status', select({ name: 'status' }, [all, ...wordOptions('ticket.status.', STATUSES)], q.get('status'))),
    field(t('ticket.assignee'), 'assignedTo', select({ name: 'assignedTo' }, [all, ...users.map((/** @type {any} */ u) => [u.id, u.name])], q.get('assignedTo'))),
    field(t('ticket.kind'), 'kind', select({ name: 'kind' }, [all, ...wordOptions('ticket.kind.', KINDS)], q.get('kind'))));
  filters.addEventListener('submit', (e) => e.preventDefault());
  const list = h('div', { id: 'ticket-list' });
  let seq = 0;
  async function reload() {
    const mine = ++seq;
    const data = new FormData(filters);
    const params = { q: str(data, 'q'), customerId: str(data, 'customerId'), status: str(data, 'status'),
      assignedTo: str(data, 'assignedTo'), kind: str(data, 'kind') };
    // The filters live in the address, so Back and a reload keep them;
    // replaceState does not fire hashchange, so the page stays.
    if (location.hash.startsWith('#/tickets')) history.replaceState(null, '', '#/tickets' + query(params));
    const tickets = await api.get('/tickets' + query(params));
    if (mine !== seq) return;
    list.dataset.query = query(params);
    replace(list, ticketTable(tickets));
  }
  filters.addEventListener('input', debounce(() => {
    clearErrors(filters);
    reload().catch((err) => showError(filters, err));
  }, 200));
  await reload();
  replace(main,
    h('h1', {}, t('tickets.title')),
    h('div', { class: 'columns' },
      h('div', { class: 'main-col' }, filters, list),
      h('div', { class: 'side-col' }, newTicketForm(customers, users))));
}

/**
 * Whether work for this customer and contact would be covered today, as the
 * relay will decide it: shown before the ticket exists, so nobody is
 * surprised by a bill.
 * @param {any} customer
 * @param {any} contact
 */
function expectedReasons(customer, contact) {
  const reasons = [];
  const inForce = (customer.contracts || []).filter((/** @type {any} */ c) => c.inForce);
  if (inForce.some((/** @type {any} */ c) => c.status === 'active')) {
    // covered so far
  } else if (inForce.some((/** @type {any} */ c) => c.status === 'suspended')) reasons.push('contract_suspended');
  else reasons.push('no_contract');
  if (!contact || !contact.referenceRole) reasons.push('not_reference_person');
  return reasons;
}

/**
 * The new-ticket form.
 * @param {any[]} customers
 * @param {any[]} users
 */
function newTicketForm(customers, users) {
  const customerOptions = (/** @type {any[]} */ list) => /** @type {Array<[string|number, string]>} */ (
    [['', t('ticket.choose_customer')], ...list.map((c) => [c.id, c.vatNumber ? `${c.name} (${vatText(c.vatNumber)})` : c.name])]);
  const search = /** @type {HTMLInputElement} */ (h('input', { type: 'search', name: 'customerSearch', placeholder: t('customers.search_hint'),
    'aria-label': t('customers.search'), autocomplete: 'off' }));
  const customerSel = /** @type {HTMLSelectElement} */ (select({ name: 'customerId' }, customerOptions(customers)));
  const contactSel = /** @type {HTMLSelectElement} */ (select({ name: 'contactId' }, [['', t('ticket.no_contact')]]));
  const hint = h('div', { id: 'new-ticket-hint', class: 'hint', 'aria-live': 'polite' });
  /** @type {any} */
  let customer = null;

  function showHint() {
    if (!customer) { replace(hint); return; }
    const contact = customer.contacts.find((/** @type {any} */ c) => String(c.id) === contactSel.value);
    const reasons = expectedReasons(customer, contact);
    if (reasons.length === 0) replace(hint, h('p', { class: 'ok' }, t('entitlement.expected_covered')));
    else replace(hint, h('div', { class: 'warn' }, h('strong', {}, t('entitlement.expected_billable')),
      h('ul', {}, ...reasons.map((r) => h('li', { 'data-reason': r }, tr('reason.' + r))))));
  }
  let loading = 0;
  async function loadContacts() {
    const mine = ++loading;
    const cid = customerSel.value;
    customer = cid ? await api.get('/customers/' + cid) : null;
    if (mine !== loading) return;
    setOptions(contactSel, [['', t('ticket.no_contact')],
      ...(customer ? customer.contacts.map((/** @type {any} */ c) => /** @type {[number, string]} */ ([c.id, contactOptionLabel(c)])) : [])], '');
    customerSel.dataset.loaded = cid;
    showHint();
  }
  const fail = (/** @type {unknown} */ err) => showError(f, err);
  search.addEventListener('input', debounce(async () => {
    try {
      const found = await api.get('/customers' + query({ q: search.value.trim() }));
      setOptions(customerSel, customerOptions(found));
      if (!customerSel.value && found.length > 0) customerSel.value = String(found[0].id);
      if (customerSel.value !== customerSel.dataset.loaded) await loadContacts();
    } catch (err) { fail(err); }
  }, 200));
  customerSel.addEventListener('change', () => loadContacts().catch(fail));
  contactSel.addEventListener('change', showHint);

  const f = form({ class: 'card', id: 'new-ticket' },
    h('h2', {}, t('tickets.new')),
    field(t('ticket.subject'), 'title', h('input', { name: 'title', maxlength: 200, autocomplete: 'off' })),
    field(t('ticket.customer'), 'customerId', h('span', { class: 'stack' }, search, customerSel)),
    field(t('ticket.contact'), 'contactId', contactSel),
    hint,
    h('div', { class: 'row' },
      field(t('ticket.kind'), 'kind', select({ name: 'kind' }, wordOptions('ticket.kind.', KINDS), 'question')),
      field(t('ticket.requested_priority'), 'requestedPriority', select({ name: 'requestedPriority' },
        [['', t('ticket.requested_none')], ...wordOptions('ticket.priority.', PRIORITIES)], ''))),
    h('div', { class: 'row' },
      field(t('ticket.priority'), 'priority', select({ name: 'priority' }, wordOptions('ticket.priority.', PRIORITIES), 'normal')),
      field(t('ticket.impact'), 'impact', select({ name: 'impact' }, wordOptions('ticket.impact.', IMPACTS), 'medium'))),
    field(t('ticket.assignee'), 'assignedTo', select({ name: 'assignedTo' },
      [['', t('ticket.unassigned')], ...users.filter((u) => u.active).map((u) => /** @type {[number, string]} */ ([u.id, u.name]))], '')),
    h('button', { type: 'submit' }, t('ticket.create')));
  onSubmit(f, async (data) => {
    /** @type {Record<string, any>} */
    const body = { title: str(data, 'title'), customerId: id(data, 'customerId'), kind: str(data, 'kind'),
      requestedPriority: str(data, 'requestedPriority'), priority: str(data, 'priority'), impact: str(data, 'impact') };
    if (id(data, 'contactId')) body.contactId = id(data, 'contactId');
    if (id(data, 'assignedTo')) body.assignedTo = id(data, 'assignedTo');
    const tk = await api.post('/tickets', body);
    location.hash = '#/tickets/' + tk.id;
  });
  return f;
}

/** @param {any} s */
export function statusOf(s) {
  return s.status === 'waiting' && (s.codeExpired || s.reason === 'code_expired') ? 'expired' : s.status;
}

/** @param {Ctx} ctx */
export async function ticketView(ctx) {
  const { main } = ctx;
  const ticketID = Number(ctx.params[0]);
  const [first, users, categories] = await Promise.all([api.get('/tickets/' + ticketID), api.get('/users'), api.get('/categories')]);
  const customer = await api.get('/customers/' + first.customerId);
  /** @type {any} */
  let tk = first;

  const head = h('div', { id: 'ticket-head' });
  const entitlement = h('div', { id: 'entitlement' });
  const takenUp = h('div', { id: 'taken-up-box' });
  const editBox = h('div', { id: 'ticket-edit-box' });
  const sessionsList = h('div', { id: 'sessions' });
  const notesList = h('div', { id: 'notes' });
  const historyList = h('div', { id: 'history' });

  const userName = (/** @type {string} */ v) => users.find((/** @type {any} */ u) => String(u.id) === v)?.name || v;
  const contactName = (/** @type {string} */ v) => customer.contacts.find((/** @type {any} */ c) => String(c.id) === v)?.name || v;
  const catName = (/** @type {string} */ v) => {
    const c = categories.find((/** @type {any} */ c) => String(c.id) === v);
    return c ? categoryName(c) : v;
  };
  /** How a history value reads. @param {string} fieldName @param {string} v */
  function historyValue(fieldName, v) {
    if (v === '' || v === '0') return '—';
    switch (fieldName) {
      case 'kind': case 'status': case 'priority': case 'impact': return tr(`ticket.${fieldName}.${v}`);
      case 'assignedTo': return userName(v);
      case 'contactId': return contactName(v);
      case 'categoryId': return catName(v);
      case 'appointmentAt': return dateTime(v);
      default: return v;
    }
  }

  function fill() {
    const contact = customer.contacts.find((/** @type {any} */ c) => c.id === tk.contactId);
    replace(head,
      h('h1', { id: 'ticket-title' }, h('span', { id: 'ticket-ref' }, tk.reference), ' — ', tk.title),
      h('p', { class: 'meta' },
        h('span', {}, t('ticket.customer') + ': '), h('a', { href: '#/customers/' + tk.customerId, id: 'ticket-customer' }, tk.customerName),
        ' · ', h('span', {}, t('ticket.contact') + ': '),
        h('span', { id: 'ticket-contact' }, tk.contactName ? (contact ? contactOptionLabel(contact) : tk.contactName) : t('ticket.no_contact')),
        ' · ', statusBadge(tk.status),
        ' · ', h('span', { class: 'muted' }, t('ticket.created') + ' ' + dateTime(tk.createdAt))),
      prepaidBalance(tk.customerId));

    const ent = tk.entitlement || { covered: false, reasons: [] };
    entitlement.dataset.covered = String(ent.covered);
    if (ent.covered) {
      replace(entitlement, h('p', { class: 'ok', id: 'covered' }, t('entitlement.covered')));
    } else {
      replace(entitlement, h('div', { class: 'warn', id: 'billable-warning', role: 'alert' },
        h('strong', {}, t('entitlement.billable')),
        h('ul', { id: 'billable-reasons' }, ...ent.reasons.map((/** @type {string} */ r) => h('li', { 'data-reason': r }, tr('reason.' + r))))));
    }

    // takenUpAt is now while the desk is open, the next opening while it
    // is closed, and absent when the calendar never opens.
    if (!tk.takenUpAt) replace(takenUp, h('p', { class: 'warn', id: 'taken-up' }, t('ticket.desk_never_opens')));
    else if (Date.parse(tk.takenUpAt) > Date.now()) replace(takenUp, h('p', { class: 'info', id: 'taken-up' }, t('ticket.taken_up', { when: dateTime(tk.takenUpAt) })));
    else replace(takenUp);

    replace(editBox, editForm());

    replace(sessionsList, tk.sessions.length === 0 ? h('p', { class: 'muted' }, t('ticket.nosessions')) :
      table({ class: 'list', id: 'session-list' }, [t('session.session'), t('session.technician'), t('session.started'), t('session.state')],
        tk.sessions.map((/** @type {any} */ s) => [
          h('a', { href: '#/sessions/' + s.id }, t('session.title', { id: s.id })),
          s.technician, dateTime(s.createdAt),
          h('span', {}, h('span', { class: 'status ' + statusOf(s) }, t('status.' + statusOf(s))),
            s.outsideHours ? h('span', { class: 'muted small' }, ' ' + t('session.overridden', { reason: s.overrideReason || '' })) : ''),
        ])));

    replace(notesList, ...(tk.notes.length === 0 ? [h('p', { class: 'muted' }, t('notes.empty'))] :
      tk.notes.map((/** @type {any} */ n) => h('article', { class: 'note' + (n.visibleToCustomer ? ' public' : ''), 'data-visible': String(n.visibleToCustomer) },
        h('p', { class: 'meta' }, h('strong', {}, n.author), ' · ', dateTime(n.createdAt), ' · ',
          h('span', { class: 'badge ' + (n.visibleToCustomer ? 'public' : 'internal') }, n.visibleToCustomer ? t('notes.public') : t('notes.internal'))),
        h('p', { class: 'body' }, n.body)))));

    replace(historyList, tk.history.length === 0 ? h('p', { class: 'muted' }, t('history.empty')) :
      table({ class: 'list' }, [t('history.when'), t('history.who'), t('history.what'), t('history.change')],
        tk.history.map((/** @type {any} */ e) => [dateTime(e.at), e.actor || '—', t('history.field.' + e.field),
          `${historyValue(e.field, e.oldValue)} → ${historyValue(e.field, e.newValue)}`])));
  }

  function editForm() {
    const f = form({ class: 'card', id: 'ticket-edit' },
      h('h2', {}, t('ticket.details')),
      field(t('ticket.subject'), 'title', h('input', { name: 'title', value: tk.title, maxlength: 200 })),
      h('div', { class: 'row' },
        field(t('ticket.kind'), 'kind', select({ name: 'kind' }, wordOptions('ticket.kind.', KINDS), tk.kind)),
        field(t('ticket.category'), 'categoryId', select({ name: 'categoryId' },
          categories.map((/** @type {any} */ c) => /** @type {[number, string]} */ ([c.id, categoryName(c)])), tk.categoryId))),
      h('div', { class: 'row' },
        field(t('ticket.status'), 'status', select({ name: 'status' }, wordOptions('ticket.status.', STATUSES), tk.status)),
        field(t('ticket.assignee'), 'assignedTo', select({ name: 'assignedTo' },
          [['0', t('ticket.unassigned')], ...users.filter((/** @type {any} */ u) => u.active || u.id === tk.assignedTo)
            .map((/** @type {any} */ u) => /** @type {[number, string]} */ ([u.id, u.name]))], tk.assignedTo || 0))),
      h('div', { class: 'row' },
        field(t('ticket.priority'), 'priority', select({ name: 'priority' }, wordOptions('ticket.priority.', PRIORITIES), tk.priority)),
        field(t('ticket.impact'), 'impact', select({ name: 'impact' }, wordOptions('ticket.impact.', IMPACTS), tk.impact))),
      h('p', { class: 'muted small', id: 'requested-priority' }, t('ticket.requested_priority') + ': ' +
        (tk.requestedPriority ? tr('ticket.priority.' + tk.requestedPriority) : t('ticket.requested_none'))),
      field(t('ticket.contact'), 'contactId', select({ name: 'contactId' },
        [['0', t('ticket.no_contact')], ...customer.contacts.map((/** @type {any} */ c) => /** @type {[number, string]} */ ([c.id, contactOptionLabel(c)]))],
        tk.contactId || 0)),
      field(t('ticket.appointment_in', { zone: zoneName() }), 'appointmentAt',
        h('input', { type: 'datetime-local', name: 'appointmentAt', value: zoneInput(tk.appointmentAt) })),
      h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('save')), h('span', { class: 'ok', id: 'ticket-saved', role: 'status' })));
    onSubmit(f, async (data) => {
      /** @type {Record<string, any>} */
      const changes = {};
      const title = str(data, 'title');
      if (title !== tk.title) changes.title = title;
      for (const k of ['kind', 'status', 'priority', 'impact']) if (str(data, k) !== tk[k]) changes[k] = str(data, k);
      for (const k of ['categoryId', 'assignedTo', 'contactId']) if (id(data, k) !== (tk[k] || 0)) changes[k] = id(data, k);
      const at = str(data, 'appointmentAt');
      if (at !== zoneInput(tk.appointmentAt)) changes.appointmentAt = at ? fromZoneInput(at) : null;
      if (Object.keys(changes).length === 0) return;
      tk = await api.patch('/tickets/' + ticketID, changes);
      fill();
      const saved = document.getElementById('ticket-saved');
      if (saved) saved.textContent = t('saved');
    });
    return f;
  }

  // The status page link, absolute, with a copy button.
  const statusURL = /** @type {HTMLInputElement} */ (h('input', { id: 'status-url', readonly: true, value: location.origin + first.statusUrl, 'aria-label': t('ticket.statuslink') }));
  const copied = h('span', { class: 'ok', role: 'status' });
  const statusBox = card({ id: 'status-link' }, t('ticket.statuslink'),
    h('p', { class: 'muted small' }, t('ticket.statuslink_hint')),
    h('div', { class: 'copy-row' }, statusURL,
      h('button', { type: 'button', class: 'secondary', id: 'copy-status-url', onclick: async () => {
        await copyFrom(statusURL);
        copied.textContent = t('copied');
      } }, t('copy')),
      h('a', { href: statusURL.value, target: '_blank', rel: 'noopener noreferrer', id: 'open-status-page' }, t('open'))),
    copied);

  // Starting a remote session; outside hours the relay asks for a reason.
  const sessionError = h('p', { class: 'error', id: 'session-error', role: 'alert' });
  const codeBox = h('div', { id: 'code-box', hidden: true });
  const overrideReason = h('textarea', { id: 'override-reason', name: 'overrideReason', rows: 3, maxlength: 500 });
  const overrideForm = form({ id: 'override-form', class: 'override', hidden: true },
    h('p', { class: 'warn', id: 'outside-hours' }),
    field(t('session.override_reason'), 'overrideReason', overrideReason),
    h('div', { class: 'toolbar' },
      h('button', { type: 'submit', id: 'confirm-override', class: 'danger' }, t('session.override_confirm')),
      h('button', { type: 'button', class: 'secondary', onclick: () => { overrideForm.hidden = true; startButton.hidden = false; } }, t('cancel'))));
  const startButton = h('button', { id: 'start-session', type: 'button' }, t('session.start'));

  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let watchTimer;
  /**
   * Follows the session whose code is shown until the customer answers:
   * a declined, joined or expired code must not stay on the page as
   * "waiting". The page element owns the timer: once the user went to
   * another page, it stops.
   * @param {number} sessionID
   */
  function watch(sessionID) {
    clearTimeout(watchTimer);
    watchTimer = setTimeout(async () => {
      if (!main.isConnected) return;
      const s = await api.get('/sessions/' + sessionID).catch(() => null);
      const state = s ? statusOf(s) : 'waiting';
      if (state === 'waiting') { watch(sessionID); return; }
      sessionStorage.removeItem(codeKey(sessionID));
      replace(codeBox,
        h('p', { class: state === 'declined' || state === 'expired' ? 'warn' : 'ok', id: 'code-outcome', 'data-status': state }, t('ticket.code_outcome.' + state)),
        h('a', { href: '#/sessions/' + sessionID, id: 'open-session', class: 'button secondary' }, t('session.open')));
      tk = await api.get('/tickets/' + ticketID).catch(() => tk);
      fill();
    }, 2000);
  }

  /** @param {string} reason */
  async function start(reason) {
    sessionError.textContent = '';
    const res = await api.post(`/tickets/${ticketID}/sessions`, reason ? { overrideReason: reason } : undefined);
    overrideForm.hidden = true;
    startButton.hidden = false;
    sessionStorage.setItem(codeKey(res.session.id), res.code);
    replace(codeBox,
      h('div', { class: 'muted' }, t('session.code')),
      h('div', { class: 'code', id: 'session-code' }, res.code),
      h('p', {}, t('session.tell')),
      res.replaced ? h('p', { class: 'muted small', id: 'code-replaced' }, t('session.code_replaced')) : '',
      h('p', { class: 'small' }, t('session.download'), ' ',
        h('a', { href: '/hulp', target: '_blank', rel: 'noopener', id: 'download-link' }, location.host + '/hulp')),
      res.session.outsideHours ? h('p', { class: 'warn small' }, tr('reason.outside_hours')) : '',
      h('a', { href: '#/sessions/' + res.session.id, id: 'open-session', class: 'button' }, t('session.open')));
    codeBox.hidden = false;
    watch(res.session.id);
    tk = await api.get('/tickets/' + ticketID);
    fill();
  }
  startButton.addEventListener('click', async () => {
    startButton.setAttribute('disabled', '');
    try {
      await start('');
    } catch (err) {
      if (err instanceof APIError && err.code === 'outside_hours') {
        const fresh = await api.get('/tickets/' + ticketID).catch(() => tk);
        replace(/** @type {HTMLElement} */ (overrideForm.querySelector('#outside-hours')),
          t('session.outside_hours'), ' ',
          fresh.takenUpAt ? t('session.next_opening', { when: dateTime(fresh.takenUpAt) }) : '');
        overrideForm.hidden = false;
        startButton.hidden = true;
        overrideReason.focus();
      } else if (err instanceof APIError && err.code === 'session_running') {
        // One live code per ticket: the running session is where to go.
        tk = await api.get('/tickets/' + ticketID).catch(() => tk);
        fill();
        const running = tk.sessions.find((/** @type {any} */ s) => s.status === 'joined' || s.status === 'live');
        replace(sessionError, t('session.running'), ' ',
          running ? h('a', { href: '#/sessions/' + running.id, id: 'running-session' }, t('session.title', { id: running.id })) : '');
      } else {
        sessionError.textContent = errorText(err);
      }
    } finally {
      startButton.removeAttribute('disabled');
    }
  });
  onSubmit(overrideForm, async (data) => {
    const reason = str(data, 'overrideReason');
    if (!reason) throw new APIError(400, { error: 'invalid', field: 'overrideReason', message: '' });
    await start(reason);
  });

  // Notes: internal by default; the customer sees only those marked.
  const noteForm = form({ id: 'note-form', class: 'card' },
    field(t('notes.body'), 'body', h('textarea', { name: 'body', rows: 4, maxlength: 10000 })),
    checkbox(t('notes.visible'), 'visibleToCustomer', false),
    h('button', { type: 'submit' }, t('notes.add')));
  onSubmit(noteForm, async (data) => {
    await api.post(`/tickets/${ticketID}/notes`, { body: str(data, 'body'), visibleToCustomer: data.get('visibleToCustomer') === 'on' });
    noteForm.reset();
    tk = await api.get('/tickets/' + ticketID);
    fill();
  });

  fill();
  replace(main,
    head, entitlement, takenUp,
    h('div', { class: 'columns' },
      h('div', { class: 'main-col' },
        editBox,
        card({ id: 'notes-card' }, t('notes.title'), notesList, noteForm),
        customerSideCard(ticketID),
        card({ id: 'history-card' }, t('history.title'), historyList)),
      h('div', { class: 'side-col' },
        card({ id: 'session-box' }, t('ticket.sessions'),
          h('div', { class: 'toolbar' }, startButton), overrideForm, sessionError, codeBox, sessionsList),
        statusBox)));
}
