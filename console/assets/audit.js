// Admin review pages: the audit chain's state and the login history, the
// sessions with their filters, and one session's audited timeline with its
// evidence pack. Everything an agent reported (host and user names, the
// consent text) is shown as text, never as markup.
import { h, replace, select } from './dom.js';
import { api, query } from './api.js';
import { t, tr, has, dateTime } from './i18n.js';
import { form, field, onSubmit, str } from './forms.js';
import { table, card } from './common.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/**
 * Who did it, as a person reads it: "user:3" or "technician:3" is that
 * user's name, "customer", "agent" and "relay" are words.
 * @param {string} actor
 * @param {any[]} users
 */
function actorName(actor, users) {
  const m = /^(\w+):(\d+)$/.exec(actor || '');
  if (m) {
    const u = users.find((/** @type {any} */ x) => x.id === Number(m[2]));
    return u ? `${u.name} (${t('role.' + u.role)})` : t('audit.actor.unknown', { id: m[2] });
  }
  return has('console.audit.actor.' + actor) ? t('audit.actor.' + actor) : actor;
}

/** @param {string} event */
export function eventName(event) {
  const key = 'console.event.' + event;
  return has(key) ? tr(key) : event;
}

/** @param {Ctx} ctx */
export async function auditView(ctx) {
  const [status, logins, users] = await Promise.all([api.get('/audit/status'), api.get('/audit/logins'), api.get('/users')]);
  const chain = status.ok
    ? h('p', { id: 'chain-status', class: 'ok', 'data-ok': 'true' }, t('audit.chain.ok', { count: status.seq }),
      h('br'), h('code', { id: 'head-hash' }, status.headHash))
    : h('p', { id: 'chain-status', class: 'error', 'data-ok': 'false' }, t('audit.chain.broken', { seq: status.badSeq, problem: status.problem }));
  replace(ctx.main,
    h('h1', {}, t('audit.title')),
    card({}, t('audit.chain'), chain, h('p', { class: 'muted' }, t('audit.chain.help'))),
    h('p', {}, h('a', { href: '#/audit/sessions', id: 'review-sessions' }, t('audit.sessions'))),
    card({}, t('audit.logins'), logins.length === 0 ? h('p', { class: 'muted' }, t('audit.none')) :
      table({ class: 'list', id: 'logins' }, [t('audit.when'), t('audit.event'), t('audit.actor'), t('audit.ip')],
        logins.map((/** @type {any} */ e) => h('tr', { class: e.event === 'login' || e.event === 'logout' ? '' : 'failed', 'data-event': e.event },
          h('td', {}, dateTime(e.time)), h('td', {}, eventName(e.event)),
          h('td', {}, loginWho(e, users)), h('td', {}, e.ip))))));
}

/**
 * Who a login row is about: the user, or for failures the account typed
 * ("*": every account the address tried while it was throttled), with the
 * counts of a window's summary.
 * @param {any} e @param {any} users
 */
function loginWho(e, users) {
  if (e.event === 'login' || e.event === 'logout') return actorName(e.actor, users);
  const account = String(e.payload.account);
  if (e.event !== 'login_failures') return account;
  return t('audit.failures', { account, failures: e.payload.failures, throttled: e.payload.throttled });
}

/** @param {Ctx} ctx */
export async function reviewView(ctx) {
  const q = ctx.query;
  const [sessions, customers, users] = await Promise.all([
    api.get('/audit/sessions' + query({ from: q.get('from'), to: q.get('to'), customerId: q.get('customerId'),
      technicianId: q.get('technicianId'), ticket: q.get('ticket'), outcome: q.get('outcome'), billing: q.get('billing') })),
    api.get('/customers'), api.get('/users')]);
  /** @param {Array<[string, string]>} opts */
  const any = (opts) => /** @type {Array<[string, string]>} */ ([['', t('audit.any')], ...opts]);
  const f = form({ class: 'card filters', id: 'review-filters' },
    h('div', { class: 'row' },
      field(t('audit.from'), 'from', h('input', { type: 'date', name: 'from', value: q.get('from') || '' })),
      field(t('audit.to'), 'to', h('input', { type: 'date', name: 'to', value: q.get('to') || '' })),
      field(t('ticket.customer'), 'customerId', select({ name: 'customerId' }, any(customers.map((/** @type {any} */ c) => [String(c.id), c.name])), q.get('customerId') || '')),
      field(t('audit.technician'), 'technicianId', select({ name: 'technicianId' }, any(users.map((/** @type {any} */ u) => [String(u.id), u.name])), q.get('technicianId') || ''))),
    h('div', { class: 'row' },
      field(t('audit.ticket'), 'ticket', h('input', { name: 'ticket', value: q.get('ticket') || '', placeholder: '2026-000123' })),
      field(t('audit.outcome'), 'outcome', select({ name: 'outcome' }, any(['waiting', 'joined', 'live', 'interrupted', 'declined', 'ended'].map((s) => [s, t('status.' + s)])), q.get('outcome') || '')),
      field(t('audit.billing'), 'billing', select({ name: 'billing' }, any([['covered', t('audit.covered')], ['billable', t('audit.billable')]]), q.get('billing') || ''))),
    h('button', { type: 'submit' }, t('audit.filter')));
  onSubmit(f, async (data) => {
    const params = /** @type {Record<string, string>} */ ({});
    for (const k of ['from', 'to', 'customerId', 'technicianId', 'ticket', 'outcome', 'billing']) params[k] = str(data, k);
    location.hash = '#/audit/sessions' + query(params);
  });
  const rows = sessions.map((/** @type {any} */ s) => h('tr', { 'data-session': s.id },
    h('td', {}, h('a', { href: '#/audit/sessions/' + s.id }, t('session.title', { id: s.id }))),
    h('td', {}, `${s.ticketRef} — ${s.ticketTitle}`), h('td', {}, s.customerName), h('td', {}, s.technician),
    h('td', {}, dateTime(s.createdAt)), h('td', {}, t('status.' + (s.codeExpired ? 'expired' : s.status))),
    h('td', {}, s.entitlement.covered ? t('audit.covered')
      : `${t('audit.billable')}: ${s.entitlement.reasons.map((/** @type {string} */ r) => tr('reason.' + r)).join('; ')}`)));
  replace(ctx.main, h('h1', {}, t('audit.sessions')), f,
    sessions.length === 0 ? h('p', { class: 'muted', id: 'no-sessions' }, t('audit.none')) :
      table({ class: 'list', id: 'review-sessions-list' },
        ['', t('ticket.subject'), t('ticket.customer'), t('audit.technician'), t('audit.when'), t('audit.outcome'), t('audit.billing')], rows));
}

/**
 * What an event's payload says, as a sentence.
 * @param {any} e
 */
export function eventDetail(e) {
  const d = (e.payload && e.payload.detail) || {};
  const level = (/** @type {string} */ l) => (l ? t('session.level.' + l) : '');
  switch (e.event) {
    case 'session.agent_joined':
      return h('span', { class: 'agent-info' }, t('session.agent', { hostname: d.hostname || '?', user: d.user || '?', os: d.os || '?' }));
    case 'session.consent_granted':
    case 'session.consent_denied':
      return h('div', {},
        h('div', {}, `${level(d.level)} ${d.lang ? '(' + t('lang.' + d.lang) + ')' : ''}`),
        d.text ? h('blockquote', { class: 'consent-text' }, d.text) : '',
        d.textSha256 ? h('div', { class: 'muted' }, 'SHA-256 ', h('code', {}, d.textSha256)) : '');
    case 'session.consent_asked':
      return level(d.level);
    case 'session.recording_granted':
    case 'session.recording_refused':
      return h('div', {},
        d.text ? h('blockquote', { class: 'consent-text' }, d.text) : '',
        h('div', { class: 'muted' }, `${t('recording.version', { version: d.version || '?' })} · SHA-256 `, h('code', {}, d.textSha256 || '')));
    case 'session.recording_chunk':
      return h('span', {}, t('recording.chunk', { seq: d.seq, bytes: d.bytes }), ' SHA-256 ', h('code', {}, d.sha256));
    case 'session.recording_sealed':
    case 'session.recording_deleted':
      return h('span', {}, d.chunks !== undefined ? t('recording.chunks_bytes', { chunks: d.chunks, mb: (d.bytes / 1048576).toFixed(2) }) + ' · ' : '',
        'SHA-256 ', h('code', {}, d.sha256 || ''));
    case 'session.clipboard':
      return t('recording.clipboard.' + d.direction, { chars: d.chars });
    case 'session.ended':
      // The reason is a code; one without words (free text from an agent)
      // is left out rather than shown raw.
      return [d.by ? t('ended.' + d.by) : '', has('console.end_reason.' + d.reason) ? t('end_reason.' + d.reason) : '']
        .filter(Boolean).join(' — ');
    case 'session.chat':
      return `${d.from === 'customer' ? t('role.customer') : d.from || ''}: ${d.text || ''}`;
    default:
      // Anything else, field by field rather than as raw JSON.
      return Object.entries(d).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' · ');
  }
}

/** @param {Ctx} ctx */
export async function timelineView(ctx) {
  const id = Number(ctx.params[0]);
  const [tl, users] = await Promise.all([api.get('/audit/sessions/' + id), api.get('/users')]);
  const s = tl.session;
  replace(ctx.main,
    h('h1', {}, t('audit.timeline', { id })),
    h('p', {}, `${s.ticketRef} — ${s.ticketTitle} · ${s.customerName} · ${s.technician}`),
    h('p', {}, h('a', { href: `/api/v1/audit/sessions/${id}/evidence`, id: 'evidence', download: `meekijk-session-${id}-evidence.json` }, t('audit.evidence')),
      tl.events.some((/** @type {any} */ e) => e.event === 'session.recording_granted')
        ? h('span', {}, ' · ', h('a', { href: `#/recordings/${id}`, id: 'watch-recording' }, t('recording.watch'))) : ''),
    table({ class: 'list', id: 'timeline' }, [t('audit.seq'), t('audit.when'), t('audit.event'), t('audit.actor'), t('audit.ip'), t('audit.detail')],
      tl.events.map((/** @type {any} */ e) => h('tr', { 'data-event': e.event },
        h('td', {}, String(e.seq)), h('td', {}, dateTime(e.time)), h('td', {}, eventName(e.event)),
        h('td', {}, actorName(e.actor, users)), h('td', {}, e.ip), h('td', {}, eventDetail(e))))));
}
