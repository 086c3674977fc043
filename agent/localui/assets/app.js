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
  return text.replace(/\{(\w+)\}/g, (m, n) => (n in params ? String(params[n]) : m));
}

/** @param {string} kind @param {string} [value] */
async function act(kind, value = '') {
  await fetch('action', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind, value }) });
}

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

function render() {
  document.documentElement.lang = state.lang;
  document.body.dataset.phase = state.phase;
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(/** @type {string} */ (el.getAttribute('data-t')));
  document.title = t('title');
  /** @type {HTMLSelectElement} */ ($('lang')).value = state.lang;
  for (const sec of document.querySelectorAll('main > section')) /** @type {HTMLElement} */ (sec).hidden = sec.id !== 'phase-' + state.phase;
  $('code-error').textContent = state.error ? t('error.' + state.error, { seconds: state.retryAfter || 60 }) : '';
  $('ask-title').textContent = t('ask.title', { technician: state.technician || '', company: state.company || '' });
  $('ask-ticket').textContent = t('ask.ticket', { ref: state.ticketRef || '', title: state.ticketTitle || '' });
  $('sharing-title').textContent = t('sharing', { technician: state.technician || '' });
  $('ended-by').textContent = state.endedBy === 'technician' ? t('ended.technician') : '';
  const code = /** @type {HTMLInputElement} */ ($('code'));
  if (state.code && !code.value) code.value = state.code;
}

$('code-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const value = /** @type {HTMLInputElement} */ ($('code')).value;
  if (value.replace(/[\s.-]/g, '').length !== 9 || /[^\d\s.-]/.test(value)) {
    $('code-error').textContent = t('error.format');
    return;
  }
  act('code', value);
});
$('allow').addEventListener('click', () => act('allow'));
$('deny').addEventListener('click', () => act('deny'));
$('stop').addEventListener('click', () => act('stop'));
$('lang').addEventListener('change', (e) => act('lang', /** @type {HTMLSelectElement} */ (e.target).value));

fetch('i18n.json').then((r) => r.json()).then((c) => {
  catalog = c;
  render();
  const events = new EventSource('events');
  events.onmessage = (ev) => { state = JSON.parse(ev.data); render(); };
  // Once the session is over the agent exits; keep showing the last state.
  events.onerror = () => { if (state.phase === 'ended' || state.phase === 'declined') events.close(); };
});
