package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"image"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/meekijk/meekijk/internal/pgtest"
)

// Several relays, one desk (issue 17): three real relay processes on one
// PostgreSQL database (pgtest), Debian's HAProxy in front of two of them
// for the agents, the technician's browser on the third.

// clusterRelay is a relay of the desk with its cluster name.
type clusterRelay struct {
	*relay
	id string
}

// desk is the scene of the multi-relay tests: a is the relay the console
// uses, b and c stand behind HAProxy at lb.
type desk struct {
	*scene
	dsn     string
	a, b, c *clusterRelay
	lb      string // http://127.0.0.1:PORT of HAProxy
	pg      *sql.DB
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatal("haproxy not found; run scripts/deps.sh (as root) first")
	}
	d := &desk{dsn: pgtest.NewDatabase(t)}
	data := t.TempDir()
	// The first relay creates the schema and the first admin; the others
	// share its data directory for the key files (docs/deploy.md).
	d.a = startClusterRelay(t, data, d.dsn, true, "127.0.0.1:0")
	d.b = startClusterRelay(t, data, d.dsn, false, "127.0.0.1:0")
	d.c = startClusterRelay(t, data, d.dsn, false, "127.0.0.1:0")
	d.lb = startHAProxy(t, d.b, d.c)
	db, err := sql.Open("pgx", d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d.pg = db
	d.scene = &scene{display: startXvfb(t), relay: d.a.relay}
	d.browser = newBrowser(t)
	d.prepare(t)
	return d
}

// startClusterRelay starts a relay of the desk on addr; the first makes the
// schema and the admin.
func startClusterRelay(t *testing.T, data, dsn string, first bool, addr string) *clusterRelay {
	t.Helper()
	p := start(t, nil, bin.relay, "-addr", addr, "-data", data, "-db", dsn, "-company", "Softwarehuis Janssens")
	r := &clusterRelay{relay: &relay{Proc: p, dataDir: data}}
	r.url = strings.TrimSuffix(waitLine(t, p, "Console: "), "/")
	if first {
		f := strings.Fields(waitLine(t, p, "First admin login: "))
		if len(f) != 3 {
			t.Fatalf("unexpected admin line %v", f)
		}
		r.password = f[2]
	}
	r.id = waitLine(t, p, "Relay: ")
	return r
}

// startHAProxy balances agents over the relays, checking each one's
// /readyz every half second, and retrying a connection a dead relay
// refused on another (redispatch).
func startHAProxy(t *testing.T, relays ...*clusterRelay) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var servers strings.Builder
	for _, r := range relays {
		fmt.Fprintf(&servers, "\tserver %s %s check inter 500ms fall 1 rise 1\n", r.id, strings.TrimPrefix(r.url, "http://"))
	}
	cfg := fmt.Sprintf(`global
	maxconn 2000
defaults
	mode http
	timeout connect 2s
	timeout client 1h
	timeout server 1h
	timeout tunnel 1h
	retries 3
	option redispatch
frontend agents
	bind %s
	default_backend relays
backend relays
	balance leastconn
	option httpchk GET /readyz
%s`, addr, servers.String())
	file := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "haproxy", "-db", "-f", file)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy not listening on %s: %s", addr, p.Stderr())
		}
	}
	return "http://" + addr
}

// sessionRows counts the desk's sessions and gives the latest's status.
func (d *desk) sessionRows(t *testing.T) (count int, status string) {
	t.Helper()
	if err := d.pg.QueryRow(`SELECT count(*), COALESCE(max(status), '') FROM remote_sessions`).Scan(&count, &status); err != nil {
		t.Fatal(err)
	}
	return count, status
}

// holder is the relay_id holding the session's agent.
func (d *desk) holder(t *testing.T) string {
	t.Helper()
	var id string
	if err := d.pg.QueryRow(`SELECT relay_id FROM room_claims`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// events lists the session's events as kind@id, in order.
func (d *desk) events(t *testing.T) []string {
	t.Helper()
	rows, err := d.pg.Query(`SELECT id, kind FROM session_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var kind string
		if err := rows.Scan(&id, &kind); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s@%d", kind, id))
	}
	return out
}

// controlWorks clicks the picture and checks the click lands on the
// customer's screen.
func controlWorks(t *testing.T, console context.Context, rec *clickRecorder, p image.Point) {
	t.Helper()
	before := len(rec.clicks())
	clickScreen(t, console, p)
	for deadline := time.Now().Add(5 * time.Second); len(rec.clicks()) == before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a click on the picture at %v never reached the screen; the console: %s", p,
				eval[string](t, console, `(() => { const v = document.getElementById('screen');
					return 'picture ' + v.videoWidth + 'x' + v.videoHeight + ', ' + v.dataset.frames + ' frames, control ' +
						document.getElementById('control-state').dataset.control + ', channel ' + (window.__meekijkChannel && window.__meekijkChannel.readyState); })()`))
		}
	}
}

// TestConsoleAndAgentOnDifferentRelays: the console on relay A, the agent
// forced onto relay B; viewing and control work, and the store shows one
// session, held by B.
func TestConsoleAndAgentOnDifferentRelays(t *testing.T) {
	d := newDesk(t)
	rec := newClickRecorder(t, d.display, image.Rect(100, 100, 700, 500))
	// The agent's -relay, given again, overrides the scene's (relay A).
	ag, customer := d.liveSession(t, "Kassa: twee relays", "-relay", d.b.url)
	askControl(t, d.console, customer)
	controlWorks(t, d.console, rec, image.Pt(300, 250))
	if n, status := d.sessionRows(t); n != 1 || status != "live" {
		t.Fatalf("%d sessions, latest %s; want one, live", n, status)
	}
	if h := d.holder(t); h != d.b.id {
		t.Fatalf("session held by %s, want relay B (%s)", h, d.b.id)
	}
	// Read as the technician would (and saved with MEEKIJK_SCREENSHOTS).
	check(t, d.console, os.Getenv("MEEKIJK_SCREENSHOTS"), "cluster-console-on-a-agent-on-b")
	run(t, d.console, "end session", chromedp.Click(chromedp.CSS(`#end-session`)))
	waitConsoleStatus(t, d.console, "ended", 10*time.Second)
	waitPhase(t, customer, "ended")
	ag.waitExit(t, 10*time.Second)
	if n, status := d.sessionRows(t); n != 1 || status != "ended" {
		t.Fatalf("%d sessions, latest %s; want one, ended", n, status)
	}
}

// TestRelayHoldingTheAgentIsKilled: kill -9 of the relay holding the
// agent; the agent reconnects through HAProxy to the other relay and the
// session resumes within the grace period at control, the console on A
// following. Nothing recorded before the kill is lost, and the audit chain
// verifies on the shared database.
func TestRelayHoldingTheAgentIsKilled(t *testing.T) {
	agentsRelayGoes(t, syscall.SIGKILL, "Kassa: relay valt uit")
}

// TestRollingRestartKeepsTheSession: SIGTERM to the relay holding the
// agent, as a rolling restart does; it hands the session over, and it
// goes on at control on the other relay exactly as after a crash, with no
// question to the customer. The stopped relay then starts again and
// rejoins the desk.
func TestRollingRestartKeepsTheSession(t *testing.T) {
	d, victim := agentsRelayGoes(t, syscall.SIGTERM, "Kassa: relay herstart")
	if !strings.Contains(victim.Stderr(), "session handed over to the other relays") {
		t.Errorf("the stopped relay did not hand its session over:\n%s", victim.Stderr())
	}
	// It left the desk as it stopped; started again, it joins it anew.
	again := startClusterRelay(t, victim.dataDir, d.dsn, false, strings.TrimPrefix(victim.url, "http://"))
	// It prints its name before its first heartbeat.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		if err := d.pg.QueryRow(`SELECT count(*) FROM relay_nodes WHERE id IN ($1, $2, $3)`, d.a.id, again.id,
			map[string]string{d.b.id: d.c.id, d.c.id: d.b.id}[victim.id]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the three running relays in relay_nodes", n)
		}
	}
}

// agentsRelayGoes stops the relay holding a session's agent with sig and
// checks the session carries on at control on the other relay behind
// HAProxy, with no new question and nothing recorded before lost. It
// returns the desk and the stopped relay.
func agentsRelayGoes(t *testing.T, sig syscall.Signal, title string) (*desk, *clusterRelay) {
	t.Helper()
	d := newDesk(t)
	rec := newClickRecorder(t, d.display, image.Rect(100, 100, 700, 500))
	ag, customer := d.liveSession(t, title, "-relay", d.lb)
	askControl(t, d.console, customer)
	controlWorks(t, d.console, rec, image.Pt(300, 250))
	if sig == syscall.SIGKILL {
		// The room's state is saved every quarter second; what the
		// customer granted is in the claim before the kill. A relay
		// stopped with SIGTERM saves it as it hands the room over.
		time.Sleep(500 * time.Millisecond)
	}

	victim, survivor := d.b, d.c
	if h := d.holder(t); h == d.c.id {
		victim, survivor = d.c, d.b
	} else if h != d.b.id {
		t.Fatalf("session held by %s, want B or C", h)
	}
	before := d.events(t)
	// The picture flows peer to peer and may outlive the relay for a
	// while: the session is back when the agent, resumed, has offered the
	// console a new connection.
	eval[bool](t, d.console, `(window.__killedChannel = window.__meekijkChannel, true)`)
	killed := time.Now()
	victim.stopWith(t, sig, 15*time.Second)

	waitJS(t, d.console, "a new data channel after the kill",
		`window.__meekijkChannel !== window.__killedChannel && window.__meekijkChannel.readyState === 'open'`, 45*time.Second)
	resumed := time.Since(killed)
	frames := videoFrames(t, d.console)
	colouredWindow(t, d.display, image.Rect(1300, 100, 1500, 200), 0x20c040)
	waitJS(t, d.console, "frames on the new connection", `Number(document.getElementById('screen').dataset.frames) > `+itoa(frames), 15*time.Second)
	waitConsoleStatus(t, d.console, "live", 5*time.Second)
	waitJS(t, d.console, "control kept", `document.getElementById('control-state').dataset.control === 'on'`, 10*time.Second)
	controlWorks(t, d.console, rec, image.Pt(400, 300))
	t.Logf("%v to the agent's relay, to a new connection on the console: %v", sig, resumed.Round(time.Millisecond))
	check(t, d.console, os.Getenv("MEEKIJK_SCREENSHOTS"), "cluster-console-after-"+sig.String())
	check(t, customer, os.Getenv("MEEKIJK_SCREENSHOTS"), "cluster-customer-after-"+sig.String())
	if h := d.holder(t); h != survivor.id {
		t.Fatalf("session held by %s after the kill, want %s", h, survivor.id)
	}
	if phase := eval[string](t, customer, `document.body.dataset.phase || ''`); phase == "ask" {
		t.Fatal("the customer was asked again; the consent should stand within the grace period")
	}

	run(t, d.console, "end session", chromedp.Click(chromedp.CSS(`#end-session`)))
	waitConsoleStatus(t, d.console, "ended", 10*time.Second)
	ag.waitExit(t, 10*time.Second)

	after := d.events(t)
	if len(after) < len(before) || !slices.Equal(after[:len(before)], before) {
		t.Fatalf("events before the kill %v are not kept as they were: %v", before, after)
	}
	var kinds []string
	for _, e := range after[len(before):] {
		kinds = append(kinds, strings.SplitN(e, "@", 2)[0])
	}
	got := strings.Join(kinds, " ")
	for _, want := range []string{"link_down", "link_up", "resumed", "ended"} {
		if !strings.Contains(got, want) {
			t.Errorf("events after the kill %q lack %s", got, want)
		}
	}
	if strings.Contains(got, "interrupted") || strings.Contains(got, "consent_granted") {
		t.Errorf("events after the kill %q: the session should go on without a new consent", got)
	}
	if n, status := d.sessionRows(t); n != 1 || status != "ended" {
		t.Fatalf("%d sessions, latest %s; want one, ended", n, status)
	}
	// The audit chain, written by three relays, verifies as one.
	out, err := exec.Command(bin.relay, "audit", "verify", "-data", d.a.dataDir, "-db", d.dsn).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "signed checkpoints match") {
		t.Fatalf("relay audit verify: %v\n%s", err, out)
	}
	t.Logf("audit verify: %s", strings.TrimSpace(string(out)))
	return d, victim
}
