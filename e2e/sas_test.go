package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSASVectorInBrowser runs the console's own derivation (sas.js) in
// Chromium on docs/protocol.md's test vector, which internal/sas's
// TestVector checks in Go.
func TestSASVectorInBrowser(t *testing.T) {
	r := startRelay(t)
	tab := newTab(t, newBrowser(t))
	run(t, tab, "open the console", chromedp.Navigate(r.url+"/"))
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(async () => {
		const { deriveCode, parseFingerprint } = await import('/assets/sas.js');
		const a = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase()).join(':');
		const b = Array.from({ length: 32 }, (_, i) => (255 - i).toString(16).padStart(2, '0')).join(':');
		const A = parseFingerprint('sha-256', a), B = parseFingerprint('sha-256', b);
		const refused = [['sha-1', a], ['sha-256', a.slice(3)], ['sha-256', a.replaceAll(':', '')]].map(([alg, v]) => {
			try { parseFingerprint(alg, v); return 'accepted'; } catch { return 'refused'; }
		});
		// The page's own SHA-256 (for consoles outside a secure context)
		// against WebCrypto's, on lengths around the block boundaries.
		const { sha256 } = await import('/assets/sas.js');
		const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
		let digests = 'same';
		for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
			const data = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 255);
			if (hex(sha256(data)) !== hex(new Uint8Array(await crypto.subtle.digest('SHA-256', data)))) digests = 'differ at ' + n;
		}
		return [await deriveCode(A, B), await deriveCode(B, A), ...refused, digests];
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run sas.js: %v", err)
	}
	want := []string{"842420", "842420", "refused", "refused", "refused", "same"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sas.js on the vector: %v, want %v", got, want)
	}
}

// sasCodes reads the verification code from both real pages: the
// customer's (the agent's) and the console's (getStats), once both show one.
func sasCodes(t *testing.T, console, customer context.Context) (agentCode, consoleCode string) {
	t.Helper()
	waitJS(t, customer, "the code on the customer's page", `!document.getElementById('sas').hidden && /^\d{3} \d{3}$/.test(document.getElementById('sas-code').textContent)`, 20*time.Second)
	waitJS(t, console, "the code on the console", `/^\d{6}$/.test(document.getElementById('sas-code').dataset.code)`, 20*time.Second)
	agentCode = strings.ReplaceAll(eval[string](t, customer, `document.getElementById('sas-code').textContent`), " ", "")
	consoleCode = eval[string](t, console, `document.getElementById('sas-code').dataset.code`)
	return agentCode, consoleCode
}

// compareCodes is the technician's "same code" in the console's question.
func compareCodes(t *testing.T, console context.Context) {
	t.Helper()
	waitJS(t, console, "the code question", `!document.getElementById('sas-check').hidden && !document.getElementById('sas-same').disabled`, 20*time.Second)
	run(t, console, "same code", chromedp.Click(chromedp.CSS(`#sas-same`)))
}

// confirmCodes answers the console's code question with "same code" when it
// asks (a request for control waits for it), and does nothing once the
// codes were compared on this connection.
func confirmCodes(t *testing.T, console context.Context) {
	t.Helper()
	const compared = `document.getElementById('sas-state').dataset.compared === 'true'`
	waitJS(t, console, "the code question or the codes compared",
		compared+` || (!document.getElementById('sas-check').hidden && !document.getElementById('sas-same').disabled)`, 20*time.Second)
	if !eval[bool](t, console, compared) {
		run(t, console, "same code", chromedp.Click(chromedp.CSS(`#sas-same`)))
	}
}

// near reports whether two colours differ by at most tol in each channel.
func near(got, want []int, tol int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if d := got[i] - want[i]; d < -tol || d > tol {
			return false
		}
	}
	return true
}

// auditHash is internal/sas.AuditHash, written again from docs/protocol.md.
func auditHash(session int64, code string) string {
	mac := hmac.New(sha256.New, []byte("meekijk sas audit v1 session "+strconv.FormatInt(session, 10)))
	mac.Write([]byte(code))
	return hex.EncodeToString(mac.Sum(nil))
}

// TestSASHonestPath: on an honest relay both pages show the same code; the
// console asks for it before control, records the comparison as a keyed
// hash, and the customer's page says the technician confirmed it. Then the
// customer's "the code differs" ends the session, on the record.
func TestSASHonestPath(t *testing.T) {
	s := newScene(t)
	ag, customer := s.liveSession(t, "Controlecode eerlijk pad")
	// The console, open before the agent joined, committed while the
	// customer was still deciding: Allow's offer leaves at once rather
	// than a round trip through the relay later.
	if strings.Contains(ag.Stderr(), "offer held until the console commits") {
		t.Error("the agent held its first offer for the console's commitment: the console did not commit while the customer decided")
	}
	agentCode, consoleCode := sasCodes(t, s.console, customer)
	t.Logf("honest path: customer's page %s, console %s", agentCode, consoleCode)
	if agentCode != consoleCode {
		t.Fatalf("honest path: customer's page shows %s, console %s", agentCode, consoleCode)
	}
	shot(t, customer, "sas-customer-code")
	// The customer's page in French and English says the same, then back.
	for _, l := range []struct{ lang, want string }{{"fr", "Code de contrôle de cette connexion"},
		{"en", "Verification code of this connection"}, {"nl", "Controlecode van deze verbinding"}} {
		run(t, customer, "page in "+l.lang, chromedp.SetValue(`#lang`, l.lang))
		eval[bool](t, customer, `document.getElementById('lang').dispatchEvent(new Event('change')) || true`)
		waitJS(t, customer, "code box in "+l.lang, `document.getElementById('sas').innerText.includes(`+jsString(l.want)+`)`, 10*time.Second)
		if l.lang != "nl" {
			shot(t, customer, "sas-customer-code-"+l.lang)
		}
	}
	shot(t, s.console, "sas-console-question")

	// A reloaded console is a new connection (renegotiate): the agent
	// waits for the new page's commitment, and both pages show the new
	// connection's code.
	run(t, s.console, "reload the console", chromedp.Reload())
	waitJS(t, s.console, "a new code", `((c) => /^\d{6}$/.test(c) && c !== `+jsString(consoleCode)+`)(document.getElementById('sas-code')?.dataset.code || '')`, 30*time.Second)
	waitJS(t, customer, "the new code on the customer's page", `document.getElementById('sas-code').textContent.replace(' ', '') !== `+jsString(agentCode), 10*time.Second)
	agentCode, consoleCode = sasCodes(t, s.console, customer)
	t.Logf("after a console reload: customer's page %s, console %s", agentCode, consoleCode)
	if agentCode != consoleCode {
		t.Fatalf("after a console reload: customer's page shows %s, console %s", agentCode, consoleCode)
	}

	// Control waits for the comparison.
	run(t, s.console, "ask for control", chromedp.Click(chromedp.CSS(`#request-control`)))
	time.Sleep(500 * time.Millisecond)
	if eval[bool](t, customer, `!document.getElementById('prompt').hidden`) {
		t.Fatal("the control question reached the customer before the codes were compared")
	}
	compareCodes(t, s.console)
	waitJS(t, customer, "control question after the comparison", `!document.getElementById('prompt').hidden`, 10*time.Second)
	waitJS(t, customer, "the technician's confirmation", `!document.getElementById('sas-confirmed').hidden`, 10*time.Second)
	shot(t, customer, "sas-customer-confirmed")
	shot(t, s.console, "sas-console-compared")

	var sessionID int64
	var detail string
	if err := s.relay.db(t).QueryRow(`SELECT session_id, detail FROM session_events WHERE kind = 'sas_compared'`).Scan(&sessionID, &detail); err != nil {
		t.Fatalf("no sas_compared event: %v", err)
	}
	var d map[string]string
	if err := json.Unmarshal([]byte(detail), &d); err != nil || d["hash"] != auditHash(sessionID, consoleCode) || strings.Contains(detail, consoleCode) {
		t.Errorf("sas_compared detail %s, want only the keyed hash of %s", detail, consoleCode)
	}

	run(t, customer, "the code differs", chromedp.Click(chromedp.CSS(`#sas-differs`)))
	waitPhase(t, customer, "ended")
	waitConsoleStatus(t, s.console, "ended", 10*time.Second)
	if msg := eval[string](t, customer, `document.getElementById('ended-by').textContent`); !strings.Contains(msg, "controlecodes verschilden") {
		t.Errorf("customer's page says %q after the mismatch", msg)
	}
	if msg := eval[string](t, s.console, `document.getElementById('status-reason').textContent`); !strings.Contains(msg, "controlecodes verschilden") {
		t.Errorf("console says %q after the mismatch", msg)
	}
	shot(t, customer, "sas-customer-mismatch")
	ag.waitExit(t, 10*time.Second)
	var by, reason string
	if err := s.relay.db(t).QueryRow(`SELECT ended_by, end_reason FROM remote_sessions WHERE id = ?`, sessionID).Scan(&by, &reason); err != nil {
		t.Fatal(err)
	}
	if by != "customer" || reason != "sas_mismatch" {
		t.Errorf("session ended by %s for %s, want customer, sas_mismatch", by, reason)
	}
	var audited int
	if err := s.relay.db(t).QueryRow(`SELECT count(*) FROM audit_log WHERE event = 'session.ended' AND payload LIKE '%sas_mismatch%'`).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("audit chain holds %d sas_mismatch ends (%v), want 1", audited, err)
	}
}

// TestSASManInTheMiddle: a relay that terminates DTLS on both sides (mitm)
// still delivers the picture, but the two pages show different codes; the
// technician's "different code" ends the session and the record says why.
func TestSASManInTheMiddle(t *testing.T) {
	s := newScene(t)
	colouredWindow(t, s.display, windowRect, windowRGB)
	m := startMITM(t, s.relay.url)
	// The agent dials the mitm (a later -relay wins), which dials the
	// relay. The picture and the data channel arrive through it: nothing
	// in WebRTC noticed.
	ag, customer := s.liveSession(t, "Controlecode met tussenpersoon", "-relay", m.url)
	agentCode, consoleCode := sasCodes(t, s.console, customer)
	t.Logf("man in the middle: customer's page %s, console %s", agentCode, consoleCode)
	if agentCode == consoleCode {
		t.Fatalf("with a man in the middle both pages show %s", agentCode)
	}
	// The customer's real screen, decrypted and re-encrypted on the way.
	want := []int{windowRGB >> 16 & 0xff, windowRGB >> 8 & 0xff, windowRGB & 0xff}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		px := samplePixel(t, s.console, sampleX, sampleY)
		if near(px, want, 16) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console shows %v at (%d,%d) through the mitm, want about %v (the known window)", px, sampleX, sampleY, want)
		}
	}
	shot(t, s.console, "sas-mitm-console")
	shot(t, customer, "sas-mitm-customer")

	run(t, s.console, "ask for control", chromedp.Click(chromedp.CSS(`#request-control`)))
	waitJS(t, s.console, "the code question", `!document.getElementById('sas-check').hidden`, 10*time.Second)
	run(t, s.console, "different code", chromedp.Click(chromedp.CSS(`#sas-differs`)))
	waitConsoleStatus(t, s.console, "ended", 10*time.Second)
	waitPhase(t, customer, "ended")
	ag.waitExit(t, 10*time.Second)
	if eval[bool](t, customer, `!document.getElementById('prompt').hidden`) {
		t.Error("the control question reached the customer")
	}
	kinds, _ := sessionEvents(t, s.relay)
	if strings.Contains(strings.Join(kinds, ","), "sas_compared") {
		t.Errorf("events %v: codes were never compared", kinds)
	}
	var by, reason string
	if err := s.relay.db(t).QueryRow(`SELECT ended_by, end_reason FROM remote_sessions`).Scan(&by, &reason); err != nil {
		t.Fatal(err)
	}
	if by != "technician" || reason != "sas_mismatch" {
		t.Errorf("session ended by %s for %s, want technician, sas_mismatch", by, reason)
	}
}
