// Remote input: the technician's mouse and keyboard over the customer's
// picture, sent on the data channel (internal/datachannel). The agent
// decides whether any of it is injected; this only captures it while the
// page says control is active, so nothing is sent by accident.

/**
 * Maps a pointer event to the video's own pixels. The picture is
 * letterboxed (object-fit: contain), so the bars around it map to nothing.
 * @param {HTMLVideoElement} video
 * @param {{clientX: number, clientY: number}} e
 * @returns {{x: number, y: number}|null}
 */
export function videoPoint(video, e) {
  const vw = video.videoWidth, vh = video.videoHeight;
  if (!vw || !vh) return null;
  const r = video.getBoundingClientRect();
  const scale = Math.min(r.width / vw, r.height / vh);
  const x = (e.clientX - r.left - (r.width - vw * scale) / 2) / scale;
  const y = (e.clientY - r.top - (r.height - vh * scale) / 2) / scale;
  if (x < 0 || y < 0 || x > vw || y > vh) return null;
  return { x, y };
}

const BUTTONS = ['left', 'middle', 'right'];

// DOM wheel delta modes to pixels: a line is about 40 px, a page 800.
const DELTA_SCALE = [1, 40, 800];

/**
 * Captures input over `video` while active() is true, sending each event
 * with send(type, data). Returns a function that removes the listeners.
 * @param {HTMLVideoElement} video
 * @param {(type: string, data: any) => void} send
 * @param {() => boolean} active
 */
export function captureInput(video, send, active) {
  /** @type {{x: number, y: number}|null} */
  let pending = null;
  let frame = 0;
  const size = () => ({ videoWidth: video.videoWidth, videoHeight: video.videoHeight });
  /** @param {string} action @param {{x: number, y: number}} p @param {object} [extra] */
  const pointer = (action, p, extra = {}) => send('pointer', { action, x: p.x, y: p.y, ...extra, ...size() });

  /** @param {PointerEvent} e */
  const onMove = (e) => {
    if (!active()) return;
    const p = videoPoint(video, e);
    if (!p) return;
    // One move per animation frame: the agent's rate limit is for
    // runaway scripts, not for a fast mouse.
    pending = p;
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; if (pending) pointer('move', pending); pending = null; });
  };
  /** @param {PointerEvent} e */
  const onButton = (e) => {
    if (!active() || e.button > 2) return;
    const p = videoPoint(video, e);
    if (!p) return;
    e.preventDefault();
    video.focus();
    if (e.type === 'pointerdown') video.setPointerCapture(e.pointerId);
    pending = null;
    pointer('move', p);
    pointer(e.type === 'pointerdown' ? 'down' : 'up', p, { button: BUTTONS[e.button] });
  };
  /** @param {WheelEvent} e */
  const onWheel = (e) => {
    if (!active()) return;
    const p = videoPoint(video, e);
    if (!p) return;
    e.preventDefault();
    const k = DELTA_SCALE[e.deltaMode] || 1;
    const clamp = (/** @type {number} */ d) => Math.max(-10000, Math.min(10000, d * k));
    pointer('wheel', p, { deltaX: clamp(e.deltaX), deltaY: clamp(e.deltaY) });
  };
  // A key the browser cannot name (some layouts, input methods, remote
  // desktops) still produces its character: its keypress sends it as text.
  let unnamed = false;
  /** @param {KeyboardEvent} e */
  const onKey = (e) => {
    if (e.type === 'keydown') unnamed = e.key === 'Unidentified';
    if (!active() || e.isComposing || e.key === 'Dead' || e.key === 'Process' || e.key === 'Unidentified') return;
    e.preventDefault();
    const code = /^[A-Za-z0-9]{0,32}$/.test(e.code) ? e.code : '';
    const key = e.key.length <= 32 ? e.key : '';
    if (!code && !key) return;
    send('key', { action: e.type === 'keydown' ? 'down' : 'up', code, key,
      shift: e.shiftKey, ctrl: e.ctrlKey, alt: e.altKey, meta: e.metaKey });
  };
  /** @param {KeyboardEvent} e */
  const onPress = (e) => {
    if (!active() || !unnamed || e.ctrlKey || e.metaKey) return;
    const text = e.key.length <= 2 ? e.key : e.charCode ? String.fromCodePoint(e.charCode) : '';
    if (!text) return;
    e.preventDefault();
    send('text', { text });
  };
  /** @param {CompositionEvent} e */
  const onCompose = (e) => { if (active() && e.data) send('text', { text: e.data }); };
  // Keys still down when the technician looks away would stay down.
  const release = () => send('release_all', {});
  /** @param {Event} e */
  const noMenu = (e) => { if (active()) e.preventDefault(); };

  video.tabIndex = 0;
  const listeners = /** @type {Array<[string, any, any]>} */ ([
    ['pointermove', onMove, {}], ['pointerdown', onButton, {}], ['pointerup', onButton, {}],
    ['wheel', onWheel, { passive: false }], ['keydown', onKey, {}], ['keyup', onKey, {}], ['keypress', onPress, {}],
    ['compositionend', onCompose, {}], ['blur', release, {}], ['contextmenu', noMenu, {}],
  ]);
  for (const [type, fn, opts] of listeners) video.addEventListener(type, fn, opts);
  return () => {
    for (const [type, fn] of listeners) video.removeEventListener(type, fn);
    if (frame) cancelAnimationFrame(frame);
  };
}
