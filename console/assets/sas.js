// The verification code (SAS) of the technician's WebRTC connection, as
// internal/sas derives it (docs/protocol.md, "Verification code"): six
// digits from the two DTLS certificates this connection actually used,
// read from getStats(), never from the SDP a relay could have rewritten.
// The customer's page shows the agent's code; equal codes mean one
// connection end to end.

const LABEL = new TextEncoder().encode('meekijk sas v1');

/**
 * Parses a certificate fingerprint as RTCCertificateStats gives it: SHA-256,
 * hex pairs with colons.
 * @param {string|undefined} algorithm
 * @param {string|undefined} value
 * @returns {Uint8Array}
 */
export function parseFingerprint(algorithm, value) {
  if ((algorithm || '').toLowerCase() !== 'sha-256' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){31}$/.test(value || '')) {
    throw new Error('not a sha-256 certificate fingerprint: ' + algorithm + ' ' + value);
  }
  return new Uint8Array(String(value).split(':').map((x) => parseInt(x, 16)));
}

/**
 * The code of two fingerprints, in either order.
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {Promise<string>} six digits
 */
export async function deriveCode(a, b) {
  let first = a, second = b;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      if (a[i] > b[i]) [first, second] = [b, a];
      break;
    }
  }
  const input = new Uint8Array(LABEL.length + first.length + second.length);
  input.set(LABEL);
  input.set(first, LABEL.length);
  input.set(second, LABEL.length + first.length);
  const h = new DataView(await crypto.subtle.digest('SHA-256', input));
  return String(h.getBigUint64(0) % 1000000n).padStart(6, '0');
}

/**
 * The code of `pc`'s DTLS connection, or '' while it has none (DTLS not
 * yet up).
 * @param {RTCPeerConnection} pc
 * @returns {Promise<string>}
 */
export async function connectionCode(pc) {
  const stats = await pc.getStats();
  /** @type {any} */
  let transport = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.dtlsState === 'connected' && s.localCertificateId && s.remoteCertificateId) transport = s;
  });
  if (!transport) return '';
  const local = stats.get(transport.localCertificateId);
  const remote = stats.get(transport.remoteCertificateId);
  if (!local || !remote) return '';
  return deriveCode(parseFingerprint(local.fingerprintAlgorithm, local.fingerprint),
    parseFingerprint(remote.fingerprintAlgorithm, remote.fingerprint));
}

const COMMIT_LABEL = new TextEncoder().encode('meekijk sas commit v1');

/**
 * The commitment to a certificate the agent gets before it offers
 * (internal/sas.Commitment): hex SHA-256 of a label and the fingerprint.
 * @param {RTCCertificate} cert
 * @returns {Promise<string>}
 */
export async function commitment(cert) {
  const fp = cert.getFingerprints().find((f) => (f.algorithm || '').toLowerCase() === 'sha-256');
  const bytes = parseFingerprint(fp && fp.algorithm, fp && fp.value);
  const input = new Uint8Array(COMMIT_LABEL.length + bytes.length);
  input.set(COMMIT_LABEL);
  input.set(bytes, COMMIT_LABEL.length);
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
  return Array.from(h, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} code @returns {string} as read out: "842 420" */
export function spaced(code) { return code.slice(0, 3) + ' ' + code.slice(3); }
