// The customer's page. It only shows the agent's state and reports clicks;
// every decision is enforced by the agent program itself.

/** @type {Record<string, Record<string, string>>} */
let catalog = {};
/** @type {any} */
let state = { phase: 'code', lang: 'nl' };

/** @param {string} key @param {Record<string, string|number>} [params] */
function t(key, params = {}) {
  const entry = catalog['agent.' + key];
  const text = entry ? (entry[state.lang] || entry.nl) : key;
  // {n} and, for a count, {n|one|other} with # for the number, by the
  // language's plural rules (as internal/i18n words them in Go).
  const rules = new Intl.PluralRules(state.lang);
  return text.replace(/\{(\w+)(?:\|([^{}|]*)\|([^{}|]*))?\}/g, (m, n, one, other) => {
    if (!(n in params)) return m;
    if (one === undefined) return String(params[n]);
    return (rules.select(Number(params[n])) === 'one' ? one : other).replaceAll('#', String(params[n]));
  });
}

/**
 * fetch, tried again when the request never got through. When the network
 * changes (a Wi-Fi drop, the very moment the customer clicks Stop) Chromium
 * fails the requests still waiting for a connection, even to the agent on
 * this machine; a request already sent is not failed, so trying again does
 * not repeat a click.
 * @param {string} url @param {RequestInit} [init]
 */
async function send(url, init) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      if (attempt === 4) throw err;
      await new Promise((done) => setTimeout(done, 100 * 2 ** attempt));
    }
  }
}

// agentGone: the agent program stopped (its page server no longer
// answers). Nothing on the page can work then, so nothing is offered.
let agentGone = false;

/** @param {string} kind @param {string} [value] */
async function act(kind, value = '') {
  if (agentGone) return;
  await send('action', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind, value }) });
}

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {string} tag @param {string} text @param {string} [cls] */
function el(tag, text, cls) {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** Fills a screen choice. @param {HTMLSelectElement} sel */
function fillScreens(sel) {
  const screens = state.screens || [];
  // Once the shared screen is gone, the buttons under the notice choose.
  /** @type {HTMLElement} */ (sel.parentElement).hidden = screens.length < 2 || !!state.screenGone;
  sel.replaceChildren(...screens.map((/** @type {any} */ s) => {
    const o = /** @type {HTMLOptionElement} */ (el('option', s.name));
    o.value = String(s.index);
    return o;
  }));
  sel.value = String(state.screen || 0);
}

// The prompt on screen and what the customer ticked for it, kept across
// renders (state updates arrive while the customer is reading).
let promptId = 0;
/** @type {boolean[]} */
let confirmed = [];
let estimateApproved = false;

function renderPrompt() {
  const p = state.prompt;
  const box = $('prompt');
  box.hidden = !p || state.phase !== 'sharing';
  if (!p) return;
  if (p.id !== promptId) {
    promptId = p.id;
    confirmed = (p.statements || []).map(() => false);
    estimateApproved = false;
    /** @type {HTMLInputElement} */ ($('prompt-name')).value = '';
  }
  // The estimate is approved apart from the question: its own tick.
  $('prompt-estimate-label').hidden = !p.estimate;
  $('prompt-estimate-text').textContent = p.estimate ? ' ' + p.estimate : '';
  /** @type {HTMLInputElement} */ ($('prompt-estimate')).checked = estimateApproved;
  $('prompt-lines').replaceChildren(...p.lines.map((/** @type {string} */ l, /** @type {number} */ i) => el(i === 0 ? 'h2' : 'p', l)));
  // Statements are confirmed one by one, in order.
  $('prompt-statements').replaceChildren(...(p.statements || []).map((/** @type {string} */ s, /** @type {number} */ i) => {
    const li = el('li', '');
    const box = /** @type {HTMLInputElement} */ (document.createElement('input'));
    box.type = 'checkbox';
    box.id = 'statement-' + i;
    box.checked = confirmed[i];
    box.disabled = i > 0 && !confirmed[i - 1];
    box.addEventListener('change', () => { confirmed[i] = box.checked; if (!box.checked) confirmed.fill(false, i); renderPrompt(); });
    const label = el('label', ' ' + s);
    label.prepend(box);
    li.append(label);
    if (box.disabled) li.className = 'pending';
    return li;
  }));
  $('prompt-acceptance').textContent = p.acceptance || '';
  const signing = !!p.acceptance;
  $('prompt-name-label').hidden = !signing;
  const folders = p.folders || [];
  $('prompt-folder-label').hidden = folders.length === 0;
  const sel = /** @type {HTMLSelectElement} */ ($('prompt-folder'));
  if (sel.options.length !== folders.length) {
    sel.replaceChildren(...folders.map((/** @type {string} */ f, /** @type {number} */ i) => {
      const o = /** @type {HTMLOptionElement} */ (el('option', f));
      o.value = String(i);
      return o;
    }));
  }
  const labels = {
    consent: [p.level === 'data_intervention' ? 'intervention.accept_button' : 'allow', 'deny'],
    reconfirm: ['reconfirm.keep', 'stop'],
    screen: ['screen.switch', 'deny'],
    file: ['file.accept', 'deny'],
    keep: ['keep.continue', 'keep.stop'],
    recording: ['recording.allow', 'recording.deny'],
  }[/** @type {'consent'|'reconfirm'|'screen'|'file'|'keep'|'recording'} */ (p.kind)];
  $('prompt-yes').textContent = t(labels[0]);
  $('prompt-no').textContent = t(labels[1]);
  const name = /** @type {HTMLInputElement} */ ($('prompt-name')).value.trim();
  /** @type {HTMLButtonElement} */ ($('prompt-yes')).disabled = (signing && (confirmed.includes(false) || name === ''))
    || (!!p.estimate && !estimateApproved);
  renderDeadline();
}

function renderDeadline() {
  const p = state.prompt;
  const left = p && p.deadlineMs ? Math.max(0, Math.ceil((p.deadlineMs - Date.now()) / 1000)) : 0;
  $('prompt-deadline').textContent = left ? t(p.kind === 'keep' ? 'keep.deadline' : 'reconfirm.deadline', { seconds: left }) : '';
}
setInterval(renderDeadline, 1000);

// The shared screen was unplugged: one button per screen still there,
// since a choice of one in a select cannot be made.
function renderScreenGone() {
  $('screen-gone').hidden = !state.screenGone;
  $('screen-gone-choices').replaceChildren(...(state.screenGone ? state.screens || [] : []).map((/** @type {any} */ s) => {
    const b = el('button', t('screen.share', { name: s.name }), 'allow');
    b.addEventListener('click', () => act('screen', String(s.index)));
    return b;
  }));
}

/** @param {boolean} yes */
function answer(yes) {
  const name = /** @type {HTMLInputElement} */ ($('prompt-name')).value.trim();
  const folder = Number(/** @type {HTMLSelectElement} */ ($('prompt-folder')).value || 0);
  act(yes ? 'yes' : 'no', JSON.stringify({ id: promptId, confirmed, name, folder, estimateApproved }));
}

// The verification code of the connection the screen travels on, in two
// groups of three to read out; the agent computed it and enforces a
// mismatch, this page only shows it and reports the click.
function renderSAS() {
  const code = state.sas || '';
  $('sas').hidden = !code;
  $('sas-code').textContent = code.slice(0, 3) + ' ' + code.slice(3);
  $('sas-confirmed').hidden = !state.sasConfirmed;
}

function render() {
  document.documentElement.lang = state.lang;
  document.body.dataset.phase = state.phase;
  document.body.dataset.level = state.level || '';
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(/** @type {string} */ (el.getAttribute('data-t')));
  document.title = t('title');
  /** @type {HTMLSelectElement} */ ($('lang')).value = state.lang;
  // A session that ended says so itself; any other state of a program
  // that stopped is no longer true.
  const gone = agentGone && state.phase !== 'ended' && state.phase !== 'declined';
  document.body.dataset.agent = gone ? 'gone' : 'running';
  $('gone').hidden = !gone;
  for (const sec of document.querySelectorAll('main > section')) /** @type {HTMLElement} */ (sec).hidden = gone || sec.id !== 'phase-' + state.phase;
  $('code-error').textContent = state.error ? t('error.' + state.error, { seconds: state.retryAfter || 60 }) : '';
  const ask = state.phase === 'ask' && state.prompt ? state.prompt.lines : [];
  $('ask-lines').replaceChildren(...ask.map((/** @type {string} */ l, /** @type {number} */ i) => el(i === 0 ? 'h1' : 'p', l)));
  fillScreens(/** @type {HTMLSelectElement} */ ($('ask-screen')));
  fillScreens(/** @type {HTMLSelectElement} */ ($('share-screen')));
  renderScreenGone();
  $('sharing-title').textContent = t('sharing', { technician: state.technician || '' });
  // While the shared screen is gone nobody watches or controls anything:
  // the notice below says so instead.
  $('level-line').textContent = state.level && !state.screenGone ? t('level.' + state.level) : '';
  $('recording-line').hidden = !state.recording;
  $('recording-line').textContent = state.recording ? t('recording.on') : '';
  // The customer is told every time the technician reads or fills their
  // clipboard, with when.
  $('clipboard-line').hidden = !state.clipboard;
  $('clipboard-line').textContent = state.clipboard
    ? `${new Date(state.clipboardAt).toLocaleTimeString(state.lang)} — ${t('clipboard.' + state.clipboard, { chars: state.clipChars || 0 })}` : '';
  $('stop-control').hidden = state.level !== 'control';
  $('stop-intervention').hidden = state.level !== 'data_intervention';
  renderSAS();
  $('link').hidden = gone || !state.link;
  $('link').textContent = state.link ? t('link.' + state.link) : '';
  renderPrompt();
  $('chat-log').replaceChildren(...(state.chat || []).map((/** @type {any} */ c) => {
    const li = el('li', c.text);
    li.prepend(el('span', c.from === 'customer' ? t('chat.you') : c.from, 'from'));
    return li;
  }));
  $('transfers').replaceChildren(...(state.transfers || []).map((/** @type {any} */ f) => {
    const li = el('li', '');
    li.dataset.state = f.state;
    li.id = 'transfer-' + f.id;
    const pct = f.size ? Math.floor((100 * f.bytes) / f.size) : 100;
    const text = { done: f.path ? t('file.saved', { path: f.path }) : t('file.sent', { name: f.name }),
      failed: t('file.failed', { name: f.name }), declined: t('file.declined', { name: f.name }) }[/** @type {'done'|'failed'|'declined'} */ (f.state)];
    li.append(el('span', text || t('file.progress', { name: f.name, percent: pct })));
    if (f.state === 'active' || f.state === 'waiting') {
      const bar = /** @type {HTMLProgressElement} */ (document.createElement('progress'));
      bar.max = 100;
      bar.value = pct;
      li.append(bar);
    }
    return li;
  }));
  $('ended-by').textContent = state.endedBy === 'technician' ? t('ended.technician')
    : state.endedBy === 'reconfirm_timeout' ? t('ended.reconfirm_timeout')
      : state.endedBy === 'sas_mismatch' ? t('ended.sas_mismatch') : '';
  const code = /** @type {HTMLInputElement} */ ($('code'));
  if (state.code && !code.value) code.value = state.code;
}

$('code-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const value = /** @type {HTMLInputElement} */ ($('code')).value;
  if (value.replace(/[\s.-]/g, '').length !== 12 || /[^\d\s.-]/.test(value)) {
    $('code-error').textContent = t('error.format');
    return;
  }
  act('code', value);
});
$('allow').addEventListener('click', () => act('allow'));
$('deny').addEventListener('click', () => act('deny'));
$('stop').addEventListener('click', () => act('stop'));
$('sas-differs').addEventListener('click', () => act('sas_mismatch'));
$('stop-control').addEventListener('click', () => act('stop_control'));
$('stop-intervention').addEventListener('click', () => act('stop_intervention'));
$('prompt-yes').addEventListener('click', () => answer(true));
$('prompt-no').addEventListener('click', () => answer(false));
$('prompt-name').addEventListener('input', () => renderPrompt());
$('prompt-estimate').addEventListener('change', (e) => {
  estimateApproved = /** @type {HTMLInputElement} */ (e.target).checked;
  renderPrompt();
});
for (const id of ['ask-screen', 'share-screen']) {
  $(id).addEventListener('change', (e) => act('screen', /** @type {HTMLSelectElement} */ (e.target).value));
}
$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('chat-input'));
  if (input.value.trim()) act('chat', input.value);
  input.value = '';
});
$('send-file').addEventListener('change', async (e) => {
  const input = /** @type {HTMLInputElement} */ (e.target);
  const file = input.files && input.files[0];
  input.value = '';
  if (!file) return;
  if (file.size > state.maxFileBytes) {
    $('send-error').textContent = t('file.too_large', { max: Math.floor(state.maxFileBytes / 1048576) + ' MB' });
    return;
  }
  $('send-error').textContent = '';
  await send('upload?name=' + encodeURIComponent(file.name), { method: 'POST', body: file });
});
$('lang').addEventListener('change', (e) => act('lang', /** @type {HTMLSelectElement} */ (e.target).value));

send('i18n.json').then((r) => r.json()).then((c) => {
  catalog = c;
  render();
  const events = new EventSource('events');
  let first = true;
  events.onmessage = (ev) => {
    state = JSON.parse(ev.data);
    render();
    // Until the code says whom the session is for, the browser's
    // language is the best guess (the agent ignores it after that).
    const browser = (navigator.language || '').slice(0, 2);
    if (first && state.phase === 'code' && ['nl', 'fr', 'en'].includes(browser) && browser !== state.lang) act('browser_lang', browser);
    first = false;
  };
  // Once the session is over the agent exits; keep showing the last state.
  // Otherwise a broken stream means the program stopped, unless its page
  // server still answers (then the stream reconnects by itself).
  events.onerror = () => {
    if (state.phase === 'ended' || state.phase === 'declined') {
      events.close();
      return;
    }
    fetch('i18n.json', { cache: 'no-store' }).then((r) => { if (!r.ok) throw new Error(String(r.status)); }).catch(() => {
      events.close();
      agentGone = true;
      render();
    });
  };
});
