// The live session page: status, the customer's screen, and the consent
// ladder seen from the technician's side: ask for control, ask for a data
// intervention, and while control is granted, the mouse and keyboard over
// the picture. The agent makes the WebRTC offer once the customer allowed
// it; this page answers. The agent decides and enforces every level: this
// page asks, and shows honestly what was granted.
import { h, replace, select } from './dom.js';
import { t } from './i18n.js';
import { call } from './api.js';
import { categoryName } from './common.js';
import { captureInput } from './remote.js';
import { commitment, connectionCode, spaced } from './sas.js';
import { CHUNK, sendChunks, sha256hex, unbase64 } from './transfer.js';
import { liveBilling } from './billing.js';
import { prepaidBalance } from './business.js';
import { minutesInput, parseMinutes, readMinutes } from './amount.js';
import { field, clearErrors, showError } from './forms.js';

const PROTOCOL = 1;

/**
 * Where the ticket page keeps a session's code in this tab.
 * @param {number} id
 */
export function codeKey(id) { return 'meekijk.code.' + id; }
const LEVELS = ['view', 'control', 'data_intervention'];

/**
 * Shows session `id` in `main`. Returns a function that leaves the page.
 * @param {HTMLElement} main
 * @param {number} id
 */
export function sessionView(main, id) {
  const title = h('h1', {}, t('session.title', { id }));
  const ticketLink = h('a', { id: 'session-ticket', class: 'back' });
  // The code, kept by the ticket page in this tab when it was issued (the
  // relay keeps only its hash): shown while the customer has yet to type it.
  const code = sessionStorage.getItem(codeKey(id)) || '';
  const codeLine = h('p', { id: 'session-code-line', class: 'info', hidden: true },
    t('session.code'), ' ', h('strong', { class: 'code', id: 'session-page-code' }, code), ' ', t('session.tell'));
  const status = h('span', { class: 'status', id: 'status' });
  const reason = h('span', { class: 'muted', id: 'status-reason' });
  const levelBadge = h('span', { class: 'level', id: 'level', dataset: { level: '' } });
  // Whether the customer agreed to be recorded (relay message recording).
  const recordingBadge = h('span', { class: 'recording', id: 'recording-state', hidden: true });
  const agentLine = h('p', { class: 'muted', id: 'agent' });
  const stats = h('span', { class: 'muted', id: 'video-stats' });
  const error = h('p', { class: 'error', id: 'session-error', role: 'alert' });
  const notice = h('p', { class: 'warn', id: 'session-notice', role: 'status' });
  // How the agent captures, and the secure desktop it cannot see (desktop
  // messages on the data channel).
  const captureLine = h('p', { class: 'muted', id: 'capture-method', hidden: true });
  const secureNotice = h('p', { class: 'warn', id: 'secure-desktop', role: 'alert', hidden: true }, t('session.secure_desktop'));
  const screenGoneNotice = h('p', { class: 'warn', id: 'screen-gone', role: 'alert', hidden: true }, t('session.screen_gone'));
  const controlLine = h('p', { id: 'control-state', dataset: { control: 'off' } });
  // The verification code (sas.js), compared aloud with the one on the
  // customer's page before control or a data intervention: a relay that
  // sits in the middle of the connection makes them differ.
  const sasCode = h('strong', { class: 'sas-code', id: 'sas-code', dataset: { code: '' } });
  const sasState = h('span', { class: 'muted', id: 'sas-state' });
  const sasLine = h('p', { id: 'sas-line', hidden: true }, t('session.sas.label'), ': ', sasCode, ' ', sasState);
  const sasQuestion = h('p', { id: 'sas-question' });
  const sasSame = /** @type {HTMLButtonElement} */ (h('button', { id: 'sas-same', type: 'button', onclick: () => codesSame() }, t('session.sas.same')));
  const sasCheck = h('div', { id: 'sas-check', class: 'panel', role: 'alertdialog', hidden: true }, sasQuestion,
    h('p', { class: 'muted' }, t('session.sas.why')), h('div', { class: 'buttons' }, sasSame, ' ',
      h('button', { id: 'sas-differs', type: 'button', class: 'danger', onclick: () => send('end', { reason: 'sas_mismatch' }) }, t('session.sas.differs'))));
  // Hidden until the customer's screen arrives: an empty black box reads
  // as "broken" to a technician waiting for the customer.
  const video = /** @type {HTMLVideoElement} */ (h('video', { id: 'screen', autoplay: true, muted: true, playsinline: true, hidden: true }));
  video.dataset.frames = '0';
  const end = h('button', { class: 'danger', id: 'end-session', onclick: () => send('end', {}) }, t('session.end'));
  // The estimate goes with the request: over an hour of billable work,
  // the customer approves it before control starts.
  const controlEstimate = minutesInput({ id: 'control-estimate', placeholder: '30' });
  const estimateLabel = h('label', { class: 'inline', hidden: true }, t('session.estimate'), ' ', controlEstimate);
  const askControl = h('button', { id: 'request-control', type: 'button', hidden: true,
    onclick: () => {
      // Optional: empty asks without an estimate; anything else must be
      // whole minutes, not a guess at what was meant.
      let estimateMinutes = 0;
      if (controlEstimate.value.trim() !== '') {
        try {
          estimateMinutes = parseMinutes(controlEstimate.value, 1, 480);
        } catch {
          error.textContent = t('error.minutes', { min: 1, max: 480 });
          controlEstimate.setAttribute('aria-invalid', 'true');
          return;
        }
      }
      controlEstimate.removeAttribute('aria-invalid');
      error.textContent = '';
      afterCodesCompared(() => send('consent_request', { level: 'control', estimateMinutes }));
    } },
  t('session.ask_control'));
  const overrun = h('p', { class: 'warn', id: 'overrun-banner', role: 'alert', hidden: true });
  // The ticket's work category, which decides what the contract covers:
  // set here while working, announced to the customer when it makes the
  // work billable.
  const category = /** @type {HTMLSelectElement} */ (h('select', { id: 'session-category', onchange: async () => {
    try {
      await call('PUT', `/api/v1/sessions/${id}/category`, { categoryId: Number(category.value) });
      notice.textContent = t('session.category_saved');
      error.textContent = '';
      stopBilling.refresh();
    } catch (err) {
      error.textContent = /** @type {any} */ (err).code === 'cannot_price' ? t('session.cannot_price') : t('error.generic', { message: String(err) });
    }
  } }));
  const categoryLine = h('p', { id: 'category-line' }, h('label', {}, t('session.category'), ' ', category));
  const askIntervention = h('button', { id: 'request-intervention', type: 'button', hidden: true,
    onclick: () => { interventionForm.hidden = !interventionForm.hidden; } }, t('session.ask_intervention'));

  const categories = select({ name: 'category', required: true }, []);
  const interventionForm = h('form', { id: 'intervention-form', class: 'panel', hidden: true, onsubmit: (/** @type {Event} */ e) => {
    e.preventDefault();
    const f = /** @type {HTMLFormElement} */ (e.target);
    clearErrors(f);
    const d = new FormData(f);
    try {
      const request = { level: 'data_intervention', intervention: {
        description: String(d.get('description') || ''), category: String(d.get('category') || ''),
        estimateMinutes: readMinutes(f, 'estimate', 'estimateMinutes', 1, 480) } };
      afterCodesCompared(() => send('consent_request', request));
    } catch (err) {
      showError(f, err);
      return;
    }
    f.hidden = true;
  } },
  h('label', {}, t('session.intervention.description'), h('textarea', { name: 'description', required: true, maxlength: 500 })),
  h('label', {}, t('session.intervention.category'), categories),
  field(t('session.intervention.estimate'), 'estimateMinutes', minutesInput({ name: 'estimate', value: 30, required: true })),
  h('button', { type: 'submit' }, t('session.intervention.submit')),
  h('p', { class: 'error form-error', role: 'alert' }));
  call('GET', '/api/v1/categories').then((/** @type {any[]} */ cats) => {
    replace(categories, ...cats.map((c) => h('option', { value: c.code }, categoryName(c))));
    replace(category, h('option', { value: '0' }, '—'), ...cats.map((c) => h('option', { value: c.id }, categoryName(c))));
    return call('GET', '/api/v1/sessions/' + id).then((/** @type {any} */ s) => call('GET', '/api/v1/tickets/' + s.ticketId));
  }).then((/** @type {any} */ tk) => {
    title.after(prepaidBalance(tk.customerId)); // business.js
    category.value = String(tk.categoryId || 0);
    category.dataset.loaded = 'true';
  }).catch(() => {});

  // Chat, through the relay, which stores each line with the session.
  const chatLog = h('ul', { id: 'chat-log', class: 'chat' });
  const chatInput = /** @type {HTMLInputElement} */ (h('input', { id: 'chat-input', maxlength: 2000, autocomplete: 'off' }));
  const chat = h('form', { id: 'chat-form', onsubmit: (/** @type {Event} */ e) => {
    e.preventDefault();
    if (chatInput.value.trim()) send('chat', { text: chatInput.value });
    chatInput.value = '';
  } }, chatInput, h('button', { type: 'submit' }, t('session.chat_send')));

  // Clipboard, files and screens travel on the data channel.
  const clipText = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'clipboard-text', rows: 2 }));
  // The browser's own file button is drawn in the browser's language and
  // clipped ("N…en"): a label in the page's language opens it instead.
  const fileName = h('span', { class: 'muted', id: 'file-name' }, t('session.file_none'));
  const fileInput = /** @type {HTMLInputElement} */ (h('input', { id: 'file-input', type: 'file', class: 'visually-hidden',
    onchange: () => { fileName.textContent = fileInput.files && fileInput.files[0] ? fileInput.files[0].name : t('session.file_none'); } }));
  const filePicker = h('label', { class: 'button secondary file-pick' }, fileInput, t('session.file_choose'));
  const fileList = h('ul', { id: 'file-list', class: 'files' });
  const screenSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'screen-select' }));
  const screens = h('div', { id: 'screens', hidden: true }, t('session.screens'), ' ', screenSelect, ' ',
    h('button', { type: 'button', id: 'screen-ask', onclick: () => dcSend('screen_switch_request', { index: Number(screenSelect.value) }) }, t('session.screen_ask')));
  // The chat is part of the session's record: it stays on the page, read
  // only, once the session is over.
  const chatSection = h('section', { id: 'chat', hidden: true }, h('h2', {}, t('session.chat')), chatLog, chat);
  const tools = h('div', { id: 'tools', class: 'tools', hidden: true },
    h('section', { id: 'clipboard' }, h('h2', {}, t('session.clipboard')), clipText,
      h('button', { type: 'button', id: 'clipboard-send', onclick: () => dcSend('clipboard', { text: clipText.value }) }, t('session.clipboard_send')),
      h('button', { type: 'button', id: 'clipboard-get', onclick: () => dcSend('clipboard_request', {}) }, t('session.clipboard_get'))),
    h('section', {}, h('h2', {}, t('session.files')), filePicker, ' ', fileName, ' ',
      h('button', { type: 'button', id: 'file-send', onclick: () => { if (fileInput.files && fileInput.files[0]) offerFile(fileInput.files[0]); } }, t('session.file_send')),
      fileList),
    screens);
  const billing = h('div', { id: 'billing-slot' });

  replace(main,
    // The texts that change every second come last, so the buttons do not
    // move under the technician's pointer.
    ticketLink,
    h('div', { class: 'toolbar' }, title, status, levelBadge, recordingBadge, estimateLabel, askControl, askIntervention, end, reason, stats),
    codeLine, agentLine, captureLine, billing, categoryLine, overrun, error, notice, secureNotice, screenGoneNotice, controlLine, sasLine, sasCheck, interventionForm, video, tools, chatSection);
  const stopBilling = liveBilling(billing, id);

  /** @type {RTCIceServer[]} */
  let iceServers = [];
  /** @type {RTCIceTransportPolicy} */
  let iceTransportPolicy = 'all';
  /** @type {RTCPeerConnection|null} */
  let pc = null;
  /** @type {RTCDataChannel|null} */
  let dc = null;
  /** @type {Promise<void>} */
  let remoteSet = Promise.resolve();
  /** @type {WebSocket|null} */
  let ws = null;
  let over = false;
  let left = false;
  let live = false;
  let level = '';

  /** @param {string} type @param {any} data */
  function send(type, data) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type, data }));
  }

  /** @param {string} type @param {any} data */
  function dcSend(type, data) {
    if (dc && dc.readyState === 'open') dc.send(JSON.stringify({ type, data }));
  }

  // While the shared screen is unplugged the agent drops input: the page
  // says so rather than inviting clicks.
  let screenGone = false;
  const controlling = () => live && !screenGone && !!dc && dc.readyState === 'open' && LEVELS.indexOf(level) >= 1;
  const stopCapture = captureInput(video, dcSend, controlling);

  /** Shows the level, and whether mouse and keyboard reach the customer. */
  function showLevel() {
    levelBadge.textContent = t('session.level.' + (level || 'none'));
    levelBadge.dataset.level = level;
    // "No consent yet" is a question only while the customer may still
    // answer it; on a session that is over it would mislead.
    levelBadge.hidden = over || status.dataset.status === 'expired';
    showSAS();
    const on = controlling();
    controlLine.dataset.control = on ? 'on' : 'off';
    controlLine.textContent = live ? t(on ? 'session.control_on' : 'session.control_off') : '';
    controlLine.className = on ? 'control-on' : 'muted';
    video.classList.toggle('controlled', on);
    askControl.hidden = estimateLabel.hidden = !live || level !== 'view';
    askIntervention.hidden = !live || level !== 'control';
    if (askIntervention.hidden) interventionForm.hidden = true;
    tools.hidden = !live;
    chat.hidden = !live;
    chatSection.hidden = !live && chatLog.childElementCount === 0;
  }

  /** @param {{status: string, agent?: any, by?: string, reason?: string, level?: string}} st */
  function showStatus(st) {
    const s = st.status === 'waiting' && st.reason === 'code_expired' ? 'expired' : st.status;
    // A notice belongs to the state it was said in.
    if (s !== status.dataset.status) notice.textContent = '';
    status.textContent = t('status.' + s);
    status.className = 'status ' + s;
    status.dataset.status = s;
    // A replaced code was ended by whoever asked for the new one, perhaps a
    // colleague: "you ended the session" would not be true.
    reason.textContent = s !== 'ended' ? '' : st.reason === 'code_replaced' ? t('session.ended_code_replaced')
      : st.reason === 'sas_mismatch' ? t('session.sas.ended') : st.by ? t('ended.' + st.by) : '';
    if (st.agent) agentLine.textContent = t('session.agent', { hostname: st.agent.hostname || '?', user: st.agent.user || '?', os: st.agent.os || '?' });
    over = s === 'ended' || s === 'declined';
    live = s === 'live';
    // While the customer's link is down the picture may freeze but the
    // consent stands: keep the level, send no input (not live).
    level = live || s === 'reconnecting' ? (st.level || 'view') : '';
    end.hidden = over || s === 'expired';
    codeLine.hidden = s !== 'waiting' || !code;
    if (s !== 'waiting') sessionStorage.removeItem(codeKey(id));
    if (over || s === 'interrupted') closePeer();
    const linkNotice = { reconnecting: 'session.reconnecting', interrupted: 'session.interrupted' }[s];
    if (linkNotice) notice.textContent = t(linkNotice);
    else if (st.reason === 'resumed') notice.textContent = t(s === 'live' ? 'session.resumed' : 'session.resumed_ask');
    showLevel();
  }

  // The relay does not announce a code's expiry; the page knows from the
  // session's remaining validity when to say so.
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let expiryTimer;
  call('GET', '/api/v1/sessions/' + id).then((/** @type {any} */ s) => {
    title.textContent = `${t('session.title', { id })} — ${s.ticketRef} ${s.ticketTitle}`;
    ticketLink.setAttribute('href', '#/tickets/' + s.ticketId);
    ticketLink.textContent = '← ' + t('session.back_to_ticket', { ref: s.ticketRef });
    if (s.status === 'waiting' && !s.codeExpired) {
      expiryTimer = setTimeout(() => {
        if (status.dataset.status === 'waiting') showStatus({ status: 'waiting', reason: 'code_expired' });
      }, s.codeValidForMs);
    }
  }).catch((err) => { error.textContent = t('error.generic', { message: String(err) }); });

  // The code of the connection now up, and whether the technician said the
  // customer read the same; a new connection has new certificates.
  let sas = '';
  let sasCompared = false;
  /** @type {(() => void)|null} */
  let afterSAS = null;

  /** Runs `action` once the codes were compared on this connection. @param {() => void} action */
  function afterCodesCompared(action) {
    if (sasCompared) { action(); return; }
    afterSAS = action;
    showSAS();
  }

  function codesSame() {
    if (!sas || !live) return;
    send('sas_compared', { code: sas });
    sasCompared = true;
    const action = afterSAS;
    afterSAS = null;
    showSAS();
    if (action) action();
  }

  function showSAS() {
    sasLine.hidden = !live;
    sasCode.textContent = sas ? spaced(sas) : '';
    sasCode.dataset.code = sas;
    sasState.dataset.compared = String(sasCompared);
    sasState.textContent = !sas ? t('session.sas.waiting') : sasCompared ? '(' + t('session.sas.compared') + ')' : '';
    sasQuestion.textContent = sas ? t('session.sas.question', { code: spaced(sas) }) : t('session.sas.waiting');
    sasSame.disabled = !sas;
    // Asked as soon as there is a code, and again while control waits for it.
    sasCheck.hidden = !live || sasCompared || (!sas && !afterSAS);
  }

  /** Reads the code once DTLS is up; getStats may lag the state by a moment. @param {RTCPeerConnection} peer */
  async function readSAS(peer) {
    for (let i = 0; i < 20 && pc === peer && !sas; i++) {
      const code = await connectionCode(peer);
      if (code && pc === peer) { sas = code; showSAS(); return; }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // The certificate the next connection will answer with, made ahead: the
  // agent offers only once it holds a commitment to it, so a relay in the
  // middle cannot pick its certificate after seeing both (docs/protocol.md).
  // A new one for every connection, announced again whenever the agent
  // may be waiting for it.
  /** @type {RTCCertificate|null} */
  let nextCert = null;
  let nextCommit = '';
  // One at a time, so the commitment sent last is always nextCert's.
  let commits = Promise.resolve();
  /** @param {boolean} fresh the last certificate was used */
  function commitCert(fresh) {
    commits = commits.then(async () => {
      if (fresh || !nextCert) {
        const cert = await RTCPeerConnection.generateCertificate(/** @type {any} */ ({ name: 'ECDSA', namedCurve: 'P-256' }));
        nextCommit = await commitment(cert);
        nextCert = cert;
      }
      send('sas_commit', { hash: nextCommit });
    });
    return commits;
  }
  /** @param {unknown} err */
  const commitFailed = (err) => { error.textContent = t('error.generic', { message: String(err) }); };

  function closePeer() {
    sas = '';
    sasCompared = false;
    afterSAS = null;
    if (pc) { pc.close(); pc = null; }
    dc = null;
    video.srcObject = null;
    video.hidden = true;
    showLevel();
  }

  // Counts decoded frames; the first frame's time lets tests and the
  // benchmark measure Allow-to-picture on one clock.
  let lastCount = 0;
  /** @type {VideoFrameRequestCallback} */
  const onFrame = () => {
    const n = Number(video.dataset.frames) + 1;
    video.dataset.frames = String(n);
    if (n === 1) video.dataset.firstFrameAt = String(Date.now());
    if (!left) video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const statTimer = setInterval(() => {
    const n = Number(video.dataset.frames);
    if (video.videoWidth) stats.textContent = t('session.video', { width: video.videoWidth, height: video.videoHeight, fps: n - lastCount });
    lastCount = n;
  }, 1000);

  // Files. Outgoing ones wait for the customer's answer; incoming ones (the
  // customer chose to send them) are taken, checked and offered as a link.
  /** @type {Map<string, {file: Blob, sha: string, cancelled: boolean}>} */
  const outgoing = new Map();
  /** @type {Map<string, {name: string, size: number, sha?: string, parts: Uint8Array[], got: number, reported: number}>} */
  const incoming = new Map();
  let fileSeq = 0;

  /** @param {string} fid @param {string} state @param {string|Node} text */
  function fileLine(fid, state, text) {
    let li = /** @type {HTMLElement|null} */ (fileList.querySelector(`[data-id="${fid}"]`));
    if (!li) { li = h('li', { dataset: { id: fid } }); fileList.append(li); }
    li.dataset.state = state;
    li.dataset.updates = String(Number(li.dataset.updates || 0) + 1);
    replace(li, text);
  }

  /** @param {File} file */
  async function offerFile(file) {
    const fid = 't-' + (++fileSeq);
    const sha = await sha256hex(await file.arrayBuffer());
    outgoing.set(fid, { file, sha, cancelled: false });
    fileLine(fid, 'waiting', t('session.file_waiting', { name: file.name }));
    dcSend('file_offer', { id: fid, name: file.name, size: file.size, sha256: sha });
    fileInput.value = '';
    fileName.textContent = t('session.file_none');
  }

  /** @param {string} type @param {any} d */
  async function onChannelMessage(type, d) {
    switch (type) {
      case 'screens':
        replace(screenSelect, ...d.list.map((/** @type {any} */ s) => h('option', { value: s.index }, `${s.name}`)));
        screens.hidden = d.list.length < 2;
        break;
      case 'desktop':
        captureLine.dataset.method = d.capture;
        captureLine.textContent = t('session.capture', { method: t('session.capture.' + d.capture) });
        captureLine.hidden = false;
        secureNotice.hidden = !d.secure;
        screenGone = !!d.screenGone;
        screenGoneNotice.hidden = !screenGone;
        showLevel();
        break;
      case 'clipboard': clipText.value = d.text; break;
      case 'file_accept': {
        const o = outgoing.get(d.id);
        if (!o || !dc) return;
        fileLine(d.id, 'active', t('session.file_progress', { name: /** @type {File} */ (o.file).name, percent: 0 }));
        await sendChunks(dc, d.id, o.file, o.sha, () => o.cancelled);
        break;
      }
      case 'file_decline': {
        const o = outgoing.get(d.id);
        outgoing.delete(d.id);
        if (o) fileLine(d.id, 'declined', t('session.file_declined', { name: /** @type {File} */ (o.file).name }));
        break;
      }
      case 'file_progress': {
        const o = outgoing.get(d.id);
        if (!o) return;
        const name = /** @type {File} */ (o.file).name;
        if (d.bytes >= o.file.size) {
          outgoing.delete(d.id);
          fileLine(d.id, 'done', t('session.file_done', { name }));
        } else {
          fileLine(d.id, 'active', t('session.file_progress', { name, percent: Math.floor((100 * d.bytes) / o.file.size) }));
        }
        break;
      }
      case 'file_cancel': {
        const o = outgoing.get(d.id);
        if (o) { o.cancelled = true; outgoing.delete(d.id); fileLine(d.id, 'failed', t('session.file_cancelled', { name: /** @type {File} */ (o.file).name, reason: d.reason || '' })); }
        if (incoming.delete(d.id)) fileLine(d.id, 'failed', t('session.file_cancelled', { name: d.id, reason: d.reason || '' }));
        break;
      }
      case 'file_offer':
        incoming.set(d.id, { name: d.name, size: d.size, sha: d.sha256, parts: [], got: 0, reported: 0 });
        fileLine(d.id, 'active', t('session.file_progress', { name: d.name, percent: 0 }));
        dcSend('file_accept', { id: d.id });
        break;
      case 'file_chunk': {
        const f = incoming.get(d.id);
        if (!f || d.offset !== f.got) return;
        const bytes = unbase64(d.data);
        f.parts.push(bytes);
        f.got += bytes.length;
        if (f.got - f.reported >= 16 * CHUNK && f.got < f.size) {
          f.reported = f.got;
          dcSend('file_progress', { id: d.id, bytes: f.got });
          fileLine(d.id, 'active', t('session.file_progress', { name: f.name, percent: Math.floor((100 * f.got) / f.size) }));
        }
        break;
      }
      case 'file_done': {
        const f = incoming.get(d.id);
        incoming.delete(d.id);
        if (!f) return;
        const blob = new Blob(/** @type {BlobPart[]} */ (f.parts));
        if (f.got !== f.size || (await sha256hex(await blob.arrayBuffer())) !== d.sha256) {
          dcSend('file_cancel', { id: d.id, reason: 'checksum mismatch' });
          fileLine(d.id, 'failed', t('session.file_cancelled', { name: f.name, reason: 'SHA-256' }));
          return;
        }
        dcSend('file_progress', { id: d.id, bytes: f.size });
        fileLine(d.id, 'done', h('a', { href: URL.createObjectURL(blob), download: f.name }, t('session.file_received', { name: f.name })));
        break;
      }
    }
  }

  /** @param {RTCDataChannel} channel */
  function useChannel(channel) {
    if (channel.label !== 'meekijk') return;
    dc = channel;
    // Exposed like __meekijkPeer: the end-to-end tests send the agent what
    // a hostile console could, to check that the agent refuses it.
    /** @type {any} */ (window).__meekijkChannel = channel;
    channel.onopen = showLevel;
    channel.onclose = () => { if (dc === channel) { dc = null; showLevel(); } };
    channel.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      onChannelMessage(msg.type, msg.data).catch((err) => { error.textContent = t('error.generic', { message: String(err) }); });
    };
    if (channel.readyState === 'open') showLevel();
  }

  /**
   * Answers the agent's offer. An ICE restart (after a drop) goes to the
   * running connection, so the picture resumes without a new one.
   * @param {{sdp: string, restart?: boolean}} offer
   */
  async function answerOffer(offer) {
    if (offer.restart && pc) {
      const peer = pc;
      remoteSet = peer.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
      await remoteSet;
      await peer.setLocalDescription(await peer.createAnswer());
      send('answer', { sdp: peer.localDescription ? peer.localDescription.sdp : '' });
      return;
    }
    closePeer();
    const peer = new RTCPeerConnection({ iceServers, iceTransportPolicy, certificates: nextCert ? [nextCert] : undefined });
    pc = peer;
    // Exposed for the connectivity tests and for support: which path the
    // media took (getStats) is the first question when a picture is slow.
    /** @type {any} */ (window).__meekijkPeer = peer;
    peer.ontrack = (e) => {
      video.srcObject = e.streams[0] || new MediaStream([e.track]);
      video.hidden = false;
    };
    peer.ondatachannel = (e) => useChannel(e.channel);
    peer.onicecandidate = (e) => { if (e.candidate) send('candidate', e.candidate.toJSON()); };
    // Without a network path the picture never comes: say so rather than
    // show a black box under "Live".
    peer.onconnectionstatechange = () => {
      video.dataset.ice = peer.connectionState;
      if (peer.connectionState === 'connected' && pc === peer) readSAS(peer).catch((err) => { error.textContent = t('error.generic', { message: String(err) }); });
      if (peer.connectionState === 'failed' && pc === peer) {
        error.textContent = t('session.ice_failed');
        video.hidden = true;
      }
    };
    remoteSet = peer.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    await remoteSet;
    const answer = await peer.createAnswer();
    await peer.setLocalDescription(answer);
    send('answer', { sdp: answer.sdp });
    commitCert(true).catch(commitFailed);
  }

  /** @param {any} m */
  function addChat(m) {
    const from = m.from === 'customer' ? t('role.customer') : m.from;
    chatLog.append(h('li', {}, h('span', { class: 'from' }, from), ' ', m.text));
    chatLog.scrollTop = chatLog.scrollHeight;
  }

  let retries = 0;
  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const sock = new WebSocket(`${scheme}://${location.host}/ws/console/${id}`);
    ws = sock;
    sock.onopen = () => { error.textContent = ''; retries = 0; send('hello', { protocol: PROTOCOL, role: 'console' }); };
    sock.onmessage = async (ev) => {
      const msg = JSON.parse(ev.data);
      const d = msg.data || {};
      try {
        switch (msg.type) {
          case 'welcome':
            iceServers = d.iceServers || [];
            iceTransportPolicy = d.iceTransportPolicy === 'relay' ? 'relay' : 'all';
            commitCert(false).catch(commitFailed);
            break;
          case 'status':
            showStatus(d);
            // The agent is there (joined: the customer is deciding; live:
            // it may be a new agent after a drop): it holds the commitment
            // before Allow, so its first offer leaves at once.
            if (d.status === 'joined' || d.status === 'live') commitCert(false).catch(commitFailed);
            break;
          case 'consent':
            notice.textContent = d.granted ? '' : t('session.denied', { level: t('session.level.' + d.level) });
            if (d.granted) level = d.level;
            showLevel();
            break;
          case 'level':
            level = d.level;
            notice.textContent = t('session.revoked', { level: t('session.level.' + d.level) });
            showLevel();
            break;
          case 'reconfirm':
            notice.textContent = d.outcome === 'asked' ? t('session.reconfirm_asked') : d.outcome === 'timeout' ? t('session.reconfirm_timeout') : '';
            break;
          case 'overrun':
            overrun.hidden = false;
            overrun.dataset.outcome = d.outcome;
            overrun.textContent = t('session.overrun.' + d.outcome, { billable: d.billableMinutes, estimate: d.estimateMinutes, limit: d.limitMinutes });
            stopBilling.refresh();
            break;
          case 'screen_switch':
            notice.textContent = d.granted ? '' : t('session.screen_refused');
            break;
          case 'recording':
            recordingBadge.hidden = false;
            recordingBadge.dataset.state = d.state;
            recordingBadge.textContent = t('session.recording.' + d.state);
            break;
          case 'chat': addChat(d); break;
          case 'offer': await answerOffer(d); break;
          case 'candidate':
            await remoteSet;
            if (pc) await pc.addIceCandidate(d);
            break;
          case 'error':
            // Another window took this session over: do not fight it.
            if (d.code === 'replaced') over = true;
            error.textContent = d.code === 'no_acceptance' ? t('session.no_acceptance')
              : d.code === 'no_estimate_approval' ? t('session.no_estimate_approval')
              : d.code === 'cannot_price' ? t('session.cannot_price')
              : d.code === 'relay_restarting' ? t('session.relay_restarting') : t('error.generic', { message: d.message });
            break;
        }
      } catch (err) {
        error.textContent = t('error.generic', { message: String(err) });
      }
    };
    sock.onclose = () => {
      if (left || over) return;
      if (!error.textContent) error.textContent = t('session.disconnected');
      // Back off while the relay is down (a restart takes seconds), with
      // jitter so a desk's consoles do not all knock at once.
      const step = Math.min(1000 * 2 ** retries++, 8000);
      setTimeout(() => { if (!left) connect(); }, step / 2 + Math.random() * step / 2);
    };
  }
  call('GET', `/api/v1/sessions/${id}/events`).then((/** @type {any[]} */ events) => {
    for (const e of events) if (e.kind === 'chat' && e.detail) addChat(e.detail);
    showLevel();
  }).catch((err) => { error.textContent = t('error.generic', { message: String(err) }); })
    .finally(() => { if (!left) connect(); });

  return () => {
    left = true;
    clearInterval(statTimer);
    clearTimeout(expiryTimer);
    stopCapture();
    stopBilling();
    if (ws) ws.close();
    closePeer();
  };
}
