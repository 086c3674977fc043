// Customers: the list with search, and the customer page with sites,
// contacts (reference persons), contracts (status history, rates,
// coverage) and tickets. Technicians read; admins change.
import { h, replace, select, debounce } from './dom.js';
import { api, query, APIError } from './api.js';
import { t, money, day, dateTime } from './i18n.js';
import { form, field, onSubmit, showError, str, id, today, errorText } from './forms.js';
import { moneyInput, readMoney, RATE_BAND } from './amount.js';
import {
  REFERENCE_ROLES, FEE_PERIODS, CONTRACT_STATUSES, langOptions, categoryName, referenceLabel, table, card, vatText, copyFrom,
} from './common.js';
import { ticketTable } from './tickets.js';
import { prepaidCard, invoicingCard } from './business.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/** @param {Ctx} ctx */
export async function customersView(ctx) {
  const { main, me, query: q } = ctx;
  const admin = me.role === 'admin';
  const search = /** @type {HTMLInputElement} */ (h('input', { type: 'search', name: 'q', value: q.get('q') || '', placeholder: t('customers.search_hint') }));
  const searchForm = form({ id: 'customer-search', class: 'filters', role: 'search' }, field(t('customers.search'), 'q', search));
  searchForm.addEventListener('submit', (e) => e.preventDefault());
  const list = h('div', { id: 'customer-list' });
  let seq = 0;
  async function reload() {
    const mine = ++seq;
    const qs = query({ q: search.value.trim() });
    if (location.hash.startsWith('#/customers')) history.replaceState(null, '', '#/customers' + qs);
    const customers = await api.get('/customers' + qs);
    if (mine !== seq) return;
    replace(list, customers.length === 0 ? h('p', { class: 'muted', id: 'customers-empty' }, t('customers.empty')) :
      table({ class: 'list', id: 'customers' }, [t('customer.name'), t('customer.vat'), t('customer.lang')],
        customers.map((/** @type {any} */ c) => h('tr', { 'data-customer': c.id },
          h('td', {}, h('a', { href: '#/customers/' + c.id }, c.name)),
          h('td', {}, vatText(c.vatNumber) || '—'),
          h('td', {}, t('lang.' + c.lang))))));
  }
  search.addEventListener('input', debounce(() => reload().catch((err) => showError(searchForm, err)), 200));
  await reload();

  let create = null;
  if (admin) {
    create = form({ class: 'card', id: 'new-customer' },
      h('h2', {}, t('customers.new')),
      field(t('customer.name'), 'name', h('input', { name: 'name', maxlength: 200, autocomplete: 'off' })),
      field(t('customer.vat'), 'vatNumber', h('input', { name: 'vatNumber', maxlength: 30, placeholder: 'BE 0123.456.749', autocomplete: 'off' })),
      field(t('customer.lang'), 'lang', select({ name: 'lang' }, langOptions(), 'nl')),
      h('button', { type: 'submit' }, t('customers.create')));
    onSubmit(create, async (data) => {
      const c = await api.post('/customers', { name: str(data, 'name'), vatNumber: str(data, 'vatNumber'), lang: str(data, 'lang') });
      location.hash = '#/customers/' + c.id;
    });
  }
  replace(main, h('h1', {}, t('customers.title')),
    h('div', { class: 'columns' }, h('div', { class: 'main-col' }, searchForm, list), create ? h('div', { class: 'side-col' }, create) : ''));
}

/** @param {Ctx} ctx */
export async function customerView(ctx) {
  const { main, me } = ctx;
  const admin = me.role === 'admin';
  const customerID = Number(ctx.params[0]);
  const [categories] = await Promise.all([api.get('/categories')]);
  /** @type {any} */
  let c;
  /** @type {any[]} */
  let tickets;

  async function refresh() {
    [c, tickets] = await Promise.all([api.get('/customers/' + customerID), api.get('/tickets' + query({ customerId: customerID }))]);
    render();
  }

  function render() {
    replace(main,
      h('h1', { id: 'customer-name' }, c.name),
      h('div', { class: 'columns' },
        h('div', { class: 'main-col' },
          contractsCard(),
          contactsCard(),
          card({ id: 'customer-tickets' }, t('customer.tickets'), ticketTable(tickets, { customer: false }))),
        h('div', { class: 'side-col' },
          detailsCard(),
          prepaidCard(customerID, admin),
          admin ? invoicingCard(customerID) : '',
          sitesCard())));
  }

  function detailsCard() {
    const facts = h('dl', { class: 'facts' },
      h('dt', {}, t('customer.vat')), h('dd', { id: 'customer-vat' }, vatText(c.vatNumber) || '—'),
      h('dt', {}, t('customer.lang')), h('dd', { id: 'customer-lang' }, t('lang.' + c.lang)),
      h('dt', {}, t('customer.since')), h('dd', {}, dateTime(c.createdAt)));
    if (!admin) return card({ id: 'customer-details' }, t('customer.details'), facts);
    const f = form({ id: 'customer-edit' },
      field(t('customer.name'), 'name', h('input', { name: 'name', value: c.name, maxlength: 200 })),
      field(t('customer.vat'), 'vatNumber', h('input', { name: 'vatNumber', value: vatText(c.vatNumber), maxlength: 30 })),
      field(t('customer.lang'), 'lang', select({ name: 'lang' }, langOptions(), c.lang)),
      h('button', { type: 'submit' }, t('save')));
    onSubmit(f, async (data) => {
      await api.put('/customers/' + customerID, { name: str(data, 'name'), vatNumber: str(data, 'vatNumber'), lang: str(data, 'lang') });
      await refresh();
    });
    return card({ id: 'customer-details' }, t('customer.details'), facts, f);
  }

  function sitesCard() {
    const list = c.sites.length === 0 ? h('p', { class: 'muted' }, t('sites.empty')) :
      table({ class: 'list', id: 'sites' }, [t('site.name'), t('site.address')], c.sites.map((/** @type {any} */ s) => [s.name, s.address || '—']));
    let f = null;
    if (admin) {
      f = form({ id: 'new-site' },
        h('h3', {}, t('sites.new')),
        field(t('site.name'), 'name', h('input', { name: 'name', maxlength: 200 })),
        field(t('site.address'), 'address', h('input', { name: 'address', maxlength: 500 })),
        h('button', { type: 'submit' }, t('sites.add')));
      onSubmit(f, async (data) => {
        await api.post(`/customers/${customerID}/sites`, { name: str(data, 'name'), address: str(data, 'address') });
        await refresh();
      });
    }
    return card({ id: 'customer-sites' }, t('sites.title'), list, f);
  }

  function contactsCard() {
    const siteName = (/** @type {number} */ sid) => c.sites.find((/** @type {any} */ s) => s.id === sid)?.name || '';
    /** @type {HTMLFormElement|null} */
    let f = null;
    /** @param {any|null} ct the contact to edit, or null for a new one */
    function contactForm(ct) {
      const role = /** @type {HTMLSelectElement} */ (select({ name: 'referenceRole' },
        REFERENCE_ROLES.map((r) => /** @type {[string, string]} */ ([r, r ? t('contact.role.' + r) : t('contact.role.none')])), ct ? ct.referenceRole : ''));
      const site = /** @type {HTMLSelectElement} */ (select({ name: 'siteId' },
        [['', t('contact.choose_site')], ...c.sites.map((/** @type {any} */ s) => /** @type {[number, string]} */ ([s.id, s.name]))], ct ? ct.siteId : ''));
      const siteField = field(t('contact.site'), 'siteId', site);
      const syncSite = () => { siteField.hidden = role.value !== 'site'; };
      role.addEventListener('change', syncSite);
      syncSite();
      const g = form({ id: 'contact-form', 'data-mode': ct ? 'edit' : 'new', 'data-contact': ct ? ct.id : undefined },
        h('h3', {}, ct ? t('contacts.edit', { name: ct.name }) : t('contacts.new')),
        field(t('contact.name'), 'name', h('input', { name: 'name', maxlength: 200, value: ct ? ct.name : '' })),
        h('div', { class: 'row' },
          field(t('contact.email'), 'email', h('input', { name: 'email', type: 'email', maxlength: 254, value: ct ? ct.email : '' })),
          field(t('contact.phone'), 'phone', h('input', { name: 'phone', type: 'tel', maxlength: 50, value: ct ? ct.phone : '' }))),
        h('div', { class: 'row' },
          field(t('contact.lang'), 'lang', select({ name: 'lang' }, langOptions(), ct ? ct.lang : c.lang)),
          field(t('contact.reference_role'), 'referenceRole', role)),
        siteField,
        h('p', { class: 'muted small' }, t('contact.reference_hint')),
        h('div', { class: 'toolbar' },
          h('button', { type: 'submit' }, ct ? t('save') : t('contacts.add')),
          ct ? h('button', { type: 'button', class: 'secondary', onclick: () => swap(null) }, t('cancel')) : ''));
      onSubmit(g, async (data) => {
        const r = str(data, 'referenceRole');
        /** @type {Record<string, any>} */
        const body = { name: str(data, 'name'), email: str(data, 'email'), phone: str(data, 'phone'), lang: str(data, 'lang'), referenceRole: r };
        if (r === 'site') body.siteId = id(data, 'siteId');
        if (ct) await api.put('/contacts/' + ct.id, body);
        else await api.post(`/customers/${customerID}/contacts`, body);
        await refresh();
      });
      return g;
    }
    /** @param {any|null} ct */
    function swap(ct) {
      const g = contactForm(ct);
      if (f) f.replaceWith(g);
      f = g;
      if (ct) /** @type {HTMLInputElement} */ (g.querySelector('input[name=name]')).focus();
    }
    const list = c.contacts.length === 0 ? h('p', { class: 'muted' }, t('contacts.empty')) :
      table({ class: 'list', id: 'contacts' },
        [t('contact.name'), t('contact.email'), t('contact.phone'), t('contact.lang'), t('contact.reference_role'), ''],
        c.contacts.map((/** @type {any} */ ct) => h('tr', { 'data-contact': ct.id, 'data-reference': ct.referenceRole || 'none' },
          h('td', {}, ct.referenceRole ? '★ ' + ct.name : ct.name),
          h('td', {}, ct.email || '—'), h('td', {}, ct.phone || '—'), h('td', {}, t('lang.' + ct.lang)),
          h('td', {}, referenceLabel(ct) + (ct.siteId ? ` (${siteName(ct.siteId)})` : '')),
          h('td', {}, admin ? h('div', {}, h('button', { type: 'button', class: 'link', onclick: () => swap(ct) }, t('edit'))) : null,
            portalButtons(ct)))));
    if (admin) f = contactForm(null);
    return card({ id: 'customer-contacts' }, t('contacts.title'), list, f);
  }

  /**
   * The contact's portal: a one-time sign-in link the technician copies
   * and gives the customer, and, for an admin, the invitation that lets a
   * contact who is no reference person in.
   * @param {any} ct
   */
  function portalButtons(ct) {
    const out = h('div', { class: 'small', role: 'status' });
    /** @param {unknown} err */
    const fail = (err) => {
      out.className = 'error small';
      out.textContent = err instanceof APIError && err.code === 'not_allowed' ? t('portal.not_allowed') : errorText(err);
    };
    const copy = h('button', { type: 'button', class: 'link', 'data-portal-link': ct.id, onclick: async () => {
      try {
        const r = await api.post(`/contacts/${ct.id}/portal-link`);
        const input = /** @type {HTMLInputElement} */ (h('input', { readonly: true, size: 12, value: location.origin + r.link, 'aria-label': t('portal.link') }));
        await copyFrom(input);
        out.className = 'ok small';
        replace(out, input, ' ', t('portal.copied'));
      } catch (err) { fail(err); }
    } }, t('portal.copy_link'));
    const invite = admin && !ct.referenceRole && !ct.portalInvited ? h('button', { type: 'button', class: 'link', 'data-portal-invite': ct.id, onclick: async () => {
      try {
        await api.post(`/contacts/${ct.id}/portal-invite`);
        invite?.remove();
        out.className = 'ok small';
        out.textContent = t('portal.invited');
      } catch (err) { fail(err); }
    } }, t('portal.invite')) : null;
    // One per line: the contacts table has no room for a column of its own.
    return h('div', {}, h('div', {}, copy), invite ? h('div', {}, invite) : null, out);
  }

  function contractsCard() {
    const cards = c.contracts.length === 0 ? [h('p', { class: 'warn', id: 'no-contract' }, t('contracts.none'))] :
      c.contracts.map((/** @type {any} */ co) => contractCard(co));
    /** @type {HTMLFormElement|null} */
    let f = null;
    if (admin) {
      f = form({ id: 'new-contract', class: 'sub' },
        h('h3', {}, t('contracts.new')),
        h('div', { class: 'row' },
          field(t('contract.starts'), 'startsOn', h('input', { type: 'date', name: 'startsOn', value: today() })),
          field(t('contract.ends'), 'endsOn', h('input', { type: 'date', name: 'endsOn' }))),
        h('div', { class: 'row' },
          field(t('contract.fee'), 'feeCents', moneyInput('fee')),
          field(t('contract.fee_period'), 'feePeriod', select({ name: 'feePeriod' }, FEE_PERIODS.map((p) => /** @type {[string, string]} */ ([p, t('period.' + p)])), 'year')),
          field(t('contract.rate'), 'centsPerHour', moneyInput('rate'))),
        h('button', { type: 'submit' }, t('contracts.add')));
      onSubmit(f, async (data) => {
        await api.post(`/customers/${customerID}/contracts`, {
          startsOn: str(data, 'startsOn'), endsOn: str(data, 'endsOn'),
          feeCents: readMoney(/** @type {HTMLFormElement} */ (f), 'fee', 'feeCents'), feePeriod: str(data, 'feePeriod'),
          centsPerHour: readMoney(/** @type {HTMLFormElement} */ (f), 'rate', 'centsPerHour', RATE_BAND),
        });
        await refresh();
      });
    }
    // With a contract on file, a new one is the exception: keep it folded.
    const create = f && c.contracts.length > 0 ? h('details', { class: 'sub' }, h('summary', {}, t('contracts.new')), f) : f;
    return card({ id: 'customer-contracts' }, t('contracts.title'), ...cards, create);
  }

  /** @param {any} co */
  function contractCard(co) {
    const state = h('span', { class: 'badge contract-' + (co.status || 'none'), 'data-status': co.status }, co.status ? t('contract.status.' + co.status) : '—');
    const facts = h('dl', { class: 'facts' },
      h('dt', {}, t('contract.term')), h('dd', {}, `${day(co.startsOn)} – ${co.endsOn ? day(co.endsOn) : t('contract.open_ended')}`),
      h('dt', {}, t('contract.fee')), h('dd', { class: 'fee' }, `${money(co.feeCents)} / ${t('period.' + co.feePeriod)}`),
      h('dt', {}, t('contract.rate_today')), h('dd', { class: 'rate' }, t('per_hour', { amount: money(co.centsPerHour) })));
    const statuses = table({ class: 'list small statuses' }, [t('contract.effective_on'), t('contract.status'), t('contract.reason'), t('contract.changed_at')],
      co.statuses.map((/** @type {any} */ s) => [day(s.effectiveOn), t('contract.status.' + s.status), s.reason || '—', dateTime(s.changedAt)]));
    const rates = table({ class: 'list small rates' }, [t('rate.from'), t('rate.rate')],
      co.rates.map((/** @type {any} */ r) => [day(r.effectiveFrom), t('per_hour', { amount: money(r.centsPerHour) })]));
    const parts = [
      h('h3', {}, t('contract.title', { id: co.id }), ' ', state, co.inForce ? '' : h('span', { class: 'badge' }, t('contract.not_in_force'))),
      facts,
      h('div', { class: 'two' },
        h('div', {}, h('h4', {}, t('contract.history')), statuses),
        h('div', {}, h('h4', {}, t('contract.rates')), rates)),
    ];
    if (admin) {
      const statusForm = form({ class: 'inline contract-status-form' },
        field(t('contract.status'), 'status', select({ name: 'status' }, CONTRACT_STATUSES.map((s) => /** @type {[string, string]} */ ([s, t('contract.status.' + s)])), co.status === 'active' ? 'suspended' : 'active')),
        field(t('contract.effective_on'), 'effectiveOn', h('input', { type: 'date', name: 'effectiveOn', value: today() })),
        field(t('contract.reason'), 'reason', h('input', { name: 'reason', maxlength: 500 })),
        h('button', { type: 'submit' }, t('contract.change_status')));
      onSubmit(statusForm, async (data) => {
        await api.post(`/contracts/${co.id}/status`, { status: str(data, 'status'), effectiveOn: str(data, 'effectiveOn'), reason: str(data, 'reason') });
        await refresh();
      });
      const rateForm = form({ class: 'inline contract-rate-form' },
        field(t('rate.amount'), 'centsPerHour', moneyInput('rate')),
        field(t('rate.from'), 'effectiveFrom', h('input', { type: 'date', name: 'effectiveFrom', value: today() })),
        h('button', { type: 'submit' }, t('rate.add')));
      onSubmit(rateForm, async (data) => {
        await api.post(`/contracts/${co.id}/rates`, { centsPerHour: readMoney(rateForm, 'rate', 'centsPerHour', RATE_BAND), effectiveFrom: str(data, 'effectiveFrom') });
        await refresh();
      });
      /** @type {Record<string, boolean>} */
      const set = co.coverage || {};
      const coverageForm = form({ class: 'inline contract-coverage-form' },
        field(t('ticket.category'), 'category', select({ name: 'category' },
          categories.map((/** @type {any} */ cat) => /** @type {[number, string]} */ ([cat.id, `${categoryName(cat)} (${cat.covered ? t('coverage.covered') : t('coverage.billable')})`])))),
        field(t('coverage.this_contract'), 'covered', select({ name: 'covered' },
          [['default', t('coverage.default')], ['true', t('coverage.covered')], ['false', t('coverage.billable')]], 'default')),
        h('button', { type: 'submit' }, t('coverage.set')));
      onSubmit(coverageForm, async (data) => {
        const v = str(data, 'covered');
        const cat = id(data, 'category');
        const covered = v === 'default' ? null : v === 'true';
        await api.put(`/contracts/${co.id}/coverage/${cat}`, { covered });
        await refresh();
      });
      const setList = Object.entries(set).map(([cat, v]) => {
        const category = categories.find((/** @type {any} */ x) => String(x.id) === cat);
        return h('li', {}, `${category ? categoryName(category) : cat}: ${v ? t('coverage.covered') : t('coverage.billable')}`);
      });
      parts.push(
        h('details', { class: 'admin-actions' }, h('summary', {}, t('contract.manage')),
          h('h4', {}, t('contract.change_status')), statusForm,
          h('h4', {}, t('rate.add')), rateForm,
          h('h4', {}, t('coverage.title')), h('p', { class: 'muted small' }, t('coverage.hint')), coverageForm,
          setList.length ? h('ul', { class: 'small' }, ...setList) : ''));
    }
    return h('article', { class: 'contract', 'data-contract': co.id, 'data-status': co.status, 'data-in-force': String(co.inForce) }, ...parts);
  }

  await refresh();
}
