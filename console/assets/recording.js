// Session recordings: playback of what the customer agreed to have
// recorded, with the session's audited timeline beside it (consents,
// control, chat, clipboard, files), and the desk's recording rules.
import { h, replace, select } from './dom.js';
import { api } from './api.js';
import { t, dateTime } from './i18n.js';
import { form, field, onSubmit, str } from './forms.js';
import { eventName, eventDetail } from './audit.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/** @param {number} s seconds @returns {string} m:ss or h:mm:ss */
function clock(s) {
  const v = Math.max(0, Math.floor(s));
  const hh = Math.floor(v / 3600), mm = Math.floor((v % 3600) / 60), ss = String(v % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** @param {Ctx} ctx */
export async function recordingView(ctx) {
  const id = Number(ctx.params[0]);
  const rec = await api.get(`/sessions/${id}/recording`);
  const s = rec.session;
  const start = Date.parse(rec.startedAt);
  // The chunks are the file itself: the timeline shows what happened.
  const events = rec.events.filter((/** @type {any} */ e) => e.event !== 'session.recording_chunk');
  const chunkTimes = rec.events.filter((/** @type {any} */ e) => e.event === 'session.recording_chunk').map((/** @type {any} */ e) => e.at);
  // The file carries no duration (it is written as it goes); the last
  // chunk's arrival bounds it.
  const length = chunkTimes.length ? (Math.max(...chunkTimes) - start) / 1000 : 0;
  const deleted = !!rec.deletedAt;
  const video = /** @type {HTMLVideoElement} */ (h('video', { id: 'recording-video', controls: true, preload: 'auto', muted: true,
    src: deleted ? undefined : `/api/v1/sessions/${id}/recording/file` }));
  const seek = /** @type {HTMLInputElement} */ (h('input', { type: 'range', id: 'recording-seek', min: 0, max: Math.max(1, Math.ceil(length)), step: 1, value: 0,
    'aria-label': t('recording.seek') }));
  const pos = h('span', { id: 'recording-position' }, `0:00 / ${clock(length)}`);
  seek.addEventListener('input', () => { video.currentTime = Number(seek.value); });
  const items = events.map((/** @type {any} */ e) => {
    const offset = (e.at - start) / 1000;
    const jump = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'link', disabled: deleted || offset < 0 }, offset < 0 ? '—' : clock(offset)));
    jump.addEventListener('click', () => { video.currentTime = offset; void video.play(); });
    return h('li', { 'data-event': e.event, 'data-offset': String(offset) },
      jump, ' ', h('strong', {}, eventName(e.event)), ' ', h('span', { class: 'muted' }, dateTime(e.time)), h('div', {}, eventDetail(e)));
  });
  // The event last passed is marked while the video plays.
  video.addEventListener('timeupdate', () => {
    seek.value = String(Math.floor(video.currentTime));
    pos.textContent = `${clock(video.currentTime)} / ${clock(length)}`;
    let current = null;
    for (const li of items) if (Number(li.dataset.offset) <= video.currentTime) current = li;
    for (const li of items) li.classList.toggle('current', li === current);
  });
  const facts = h('dl', { class: 'facts', id: 'recording-facts' },
    h('dt', {}, t('recording.started')), h('dd', {}, dateTime(rec.startedAt)),
    h('dt', {}, t('recording.chunks')), h('dd', {}, t('recording.chunks_bytes', { chunks: rec.chunks, mb: (rec.bytes / 1048576).toFixed(2) })),
    h('dt', {}, t('recording.sealed')), h('dd', {}, rec.sealedAt ? dateTime(rec.sealedAt) : t('recording.open')),
    rec.sha256 ? h('dt', {}, 'SHA-256') : '', rec.sha256 ? h('dd', {}, h('code', { id: 'recording-sha256' }, rec.sha256)) : '');
  replace(ctx.main,
    h('h1', {}, t('recording.title', { id })),
    h('p', {}, `${s.ticketRef} — ${s.ticketTitle} · ${s.customerName} · ${s.technician}`),
    h('div', { class: 'columns' },
      h('div', { class: 'main-col' },
        deleted ? h('p', { class: 'muted', id: 'recording-deleted' }, t('recording.deleted', { when: dateTime(rec.deletedAt) }))
          : h('div', { class: 'player' }, video, h('div', { class: 'row' }, seek, pos),
            h('p', {}, h('a', { href: `/api/v1/sessions/${id}/recording/file`, download: `meekijk-session-${id}.mkv`, id: 'recording-download' }, t('recording.download')))),
        facts, h('p', { class: 'muted' }, t('recording.verify_hint'))),
      h('div', { class: 'side-col' }, h('h2', {}, t('recording.timeline')), h('ol', { id: 'recording-timeline', class: 'timeline' }, ...items))));
}

/**
 * The desk's recording rules: whether and when customers are asked, and
 * how long recordings are kept.
 * @param {any} set
 * @returns {HTMLElement}
 */
export function recordingSettingsForm(set) {
  const saved = h('p', { class: 'ok', role: 'status' });
  const f = form({ class: 'card', id: 'recording-settings' },
    h('h2', {}, t('settings.recording.title')),
    h('p', { class: 'muted' }, t('settings.recording.hint')),
    field(t('settings.recording.mode'), 'mode', select({ name: 'mode' },
      ['off', 'ask', 'ask_data'].map((m) => [m, t('settings.recording.mode.' + m)]), set.mode)),
    field(t('settings.recording.retention'), 'retentionDays',
      h('input', { type: 'number', name: 'retentionDays', value: set.retentionDays, min: 1, max: 3650, step: 1, required: true })),
    h('button', { type: 'submit' }, t('save')), saved);
  onSubmit(f, async (data) => {
    const next = await api.put('/settings/recording', { mode: str(data, 'mode'), retentionDays: Number(data.get('retentionDays')) });
    f.replaceWith(recordingSettingsForm(next));
    /** @type {HTMLElement} */ (document.querySelector('#recording-settings .ok')).textContent = t('saved');
  });
  return f;
}
