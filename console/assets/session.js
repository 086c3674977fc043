// The live session page: status, the customer's screen, and End. The agent
// makes the WebRTC offer once the customer allowed it; this page answers.
import { h, replace } from './dom.js';
import { t } from './i18n.js';
import { call } from './api.js';

const PROTOCOL = 1;

/**
 * Shows session `id` in `main`. Returns a function that leaves the page.
 * @param {HTMLElement} main
 * @param {number} id
 */
export function sessionView(main, id) {
  const title = h('h1', {}, t('session.title', { id }));
  const status = h('span', { class: 'status', id: 'status' });
  const reason = h('span', { class: 'muted', id: 'status-reason' });
  const agentLine = h('p', { class: 'muted', id: 'agent' });
  const stats = h('span', { class: 'muted', id: 'video-stats' });
  const error = h('p', { class: 'error', id: 'session-error' });
  // Hidden until the customer's screen arrives: an empty black box reads
  // as "broken" to a technician waiting for the customer.
  const video = /** @type {HTMLVideoElement} */ (h('video', { id: 'screen', autoplay: true, muted: true, playsinline: true, hidden: true }));
  video.dataset.frames = '0';
  const end = h('button', { class: 'danger', id: 'end-session', onclick: () => send('end', {}) }, t('session.end'));
  replace(main,
    h('div', { class: 'toolbar' }, title, status, reason, stats, end),
    agentLine, error, video);

  /** @type {RTCIceServer[]} */
  let iceServers = [];
  /** @type {RTCIceTransportPolicy} */
  let iceTransportPolicy = 'all';
  /** @type {RTCPeerConnection|null} */
  let pc = null;
  /** @type {Promise<void>} */
  let remoteSet = Promise.resolve();
  /** @type {WebSocket|null} */
  let ws = null;
  let over = false;
  let left = false;

  /** @param {string} type @param {any} data */
  function send(type, data) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type, data }));
  }

  /** @param {{status: string, agent?: any, by?: string, reason?: string}} st */
  function showStatus(st) {
    const s = st.status === 'waiting' && st.reason === 'code_expired' ? 'expired' : st.status;
    status.textContent = t('status.' + s);
    status.className = 'status ' + s;
    status.dataset.status = s;
    reason.textContent = s === 'ended' && st.by ? t('ended.' + st.by) : '';
    if (st.agent) agentLine.textContent = t('session.agent', { hostname: st.agent.hostname || '?', user: st.agent.user || '?', os: st.agent.os || '?' });
    over = s === 'ended' || s === 'declined';
    end.hidden = over || s === 'expired';
    if (over) closePeer();
  }

  // The relay does not announce a code's expiry; the page knows from the
  // session's remaining validity when to say so.
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let expiryTimer;
  call('GET', '/api/v1/sessions/' + id).then((/** @type {any} */ s) => {
    title.textContent = `${t('session.title', { id })} — ${s.ticketRef} ${s.ticketTitle}`;
    if (s.status === 'waiting' && !s.codeExpired) {
      expiryTimer = setTimeout(() => {
        if (status.dataset.status === 'waiting') showStatus({ status: 'waiting', reason: 'code_expired' });
      }, s.codeValidForMs);
    }
  }).catch((err) => { error.textContent = t('error.generic', { message: String(err) }); });

  function closePeer() {
    if (pc) { pc.close(); pc = null; }
    video.srcObject = null;
    video.hidden = true;
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

  /** @param {{sdp: string}} offer */
  async function answerOffer(offer) {
    closePeer();
    const peer = new RTCPeerConnection({ iceServers, iceTransportPolicy });
    pc = peer;
    // Exposed for the connectivity tests and for support: which path the
    // media took (getStats) is the first question when a picture is slow.
    /** @type {any} */ (window).__meekijkPeer = peer;
    peer.ontrack = (e) => {
      video.srcObject = e.streams[0] || new MediaStream([e.track]);
      video.hidden = false;
    };
    peer.onicecandidate = (e) => { if (e.candidate) send('candidate', e.candidate.toJSON()); };
    remoteSet = peer.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    await remoteSet;
    const answer = await peer.createAnswer();
    await peer.setLocalDescription(answer);
    send('answer', { sdp: answer.sdp });
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const sock = new WebSocket(`${scheme}://${location.host}/ws/console/${id}`);
    ws = sock;
    sock.onopen = () => { error.textContent = ''; send('hello', { protocol: PROTOCOL, role: 'console' }); };
    sock.onmessage = async (ev) => {
      const msg = JSON.parse(ev.data);
      try {
        switch (msg.type) {
          case 'welcome':
            iceServers = msg.data.iceServers || [];
            iceTransportPolicy = msg.data.iceTransportPolicy === 'relay' ? 'relay' : 'all';
            break;
          case 'status': showStatus(msg.data); break;
          case 'offer': await answerOffer(msg.data); break;
          case 'candidate':
            await remoteSet;
            if (pc) await pc.addIceCandidate(msg.data);
            break;
          case 'error':
            // Another window took this session over: do not fight it.
            if (msg.data.code === 'replaced') over = true;
            error.textContent = t('error.generic', { message: msg.data.message });
            break;
        }
      } catch (err) {
        error.textContent = t('error.generic', { message: String(err) });
      }
    };
    sock.onclose = () => {
      if (left || over) return;
      error.textContent = t('session.disconnected');
      setTimeout(() => { if (!left) connect(); }, 1000);
    };
  }
  connect();

  return () => {
    left = true;
    clearInterval(statTimer);
    clearTimeout(expiryTimer);
    if (ws) ws.close();
    closePeer();
  };
}
