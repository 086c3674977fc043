package console_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/store"
)

type packEntry struct {
	Seq      int64
	At       int64
	Actor    string
	IP       string
	Event    string
	Payload  json.RawMessage
	Hash     string
	PrevHash string
}

// canonical is a second, independent implementation of the canonical form
// documented in docs/audit.md: sorted keys, no spaces, numbers as written.
func canonical(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var write func(any)
	write = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					out.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				out.Write(kb)
				out.WriteByte(':')
				write(x[k])
			}
			out.WriteByte('}')
		case []any:
			out.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					out.WriteByte(',')
				}
				write(e)
			}
			out.WriteByte(']')
		default:
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.Encode(x)
			out.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		}
	}
	write(v)
	return out.Bytes()
}

func TestAuditReviewAndEvidencePack(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAs(store.RoleAdmin, "admin@desk.example")
	tech := e.login()
	// A failed login for the history.
	if a := e.do(client{origin: e.srv.URL}, "POST", "/api/v1/login", loginBody(email, "wrong")); a.status != 401 {
		t.Fatalf("wrong password: %d", a.status)
	}
	tk := e.createTicket(tech, "Kassa", "Bakkerij")
	var started struct{ Session struct{ ID int64 } }
	e.call(tech, "POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), nil, 201, &started)
	id := started.Session.ID

	if a := e.do(tech, "GET", "/api/v1/audit/status", ""); a.status != http.StatusForbidden {
		t.Errorf("technician reads the audit status: %d, want 403", a.status)
	}
	var status struct {
		OK       bool
		Seq      int64
		HeadHash string
	}
	e.call(admin, "GET", "/api/v1/audit/status", nil, 200, &status)
	if !status.OK || status.Seq < 5 || len(status.HeadHash) != 64 {
		t.Errorf("audit status %+v", status)
	}
	e.call(tech, "POST", "/api/v1/logout", nil, 204, nil)
	var logins []struct{ Event, Actor, IP string }
	e.call(admin, "GET", "/api/v1/audit/logins", nil, 200, &logins)
	var failed, ok int
	for _, l := range logins {
		switch l.Event {
		case "login_failed":
			failed++
		case "login":
			ok++
		case "logout":
			if l.Actor != fmt.Sprintf("user:%d", e.user.ID) {
				t.Errorf("logout recorded as %q, want user:%d", l.Actor, e.user.ID)
			}
		}
		if l.IP != "127.0.0.1" {
			t.Errorf("login entry without the client's address: %+v", l)
		}
	}
	if failed != 1 || ok != 2 {
		t.Errorf("login history: %d failed, %d logins, want 1 and 2: %+v", failed, ok, logins)
	}
	var sessions []struct{ ID int64 }
	e.call(admin, "GET", "/api/v1/audit/sessions?outcome=waiting&billing=billable", nil, 200, &sessions)
	if len(sessions) != 1 || sessions[0].ID != id {
		t.Errorf("filtered sessions %+v", sessions)
	}
	e.call(admin, "GET", "/api/v1/audit/sessions?billing=covered", nil, 200, &sessions)
	if len(sessions) != 0 {
		t.Errorf("covered filter returned %+v", sessions)
	}
	if a := e.do(admin, "GET", "/api/v1/audit/sessions?from=yesterday", ""); a.status != 400 || a.problem(t).Field != "from" {
		t.Errorf("bad period: %d %s", a.status, a.body)
	}

	a := e.call(admin, "GET", fmt.Sprintf("/api/v1/audit/sessions/%d/evidence", id), nil, 200, nil)
	if !strings.Contains(a.header.Get("Content-Disposition"), "attachment") {
		t.Error("evidence pack is not a download")
	}
	var pack struct {
		Format   string
		ChainOK  bool
		HeadHash string
		Entries  []packEntry
	}
	a.decode(t, &pack)
	if pack.Format != "meekijk-evidence/1" || !pack.ChainOK || len(pack.Entries) != 1 || pack.Entries[0].Event != "session.created" {
		t.Fatalf("pack %+v", pack)
	}
	for _, en := range pack.Entries {
		raw, _ := json.Marshal(map[string]any{"seq": en.Seq, "at": en.At, "actor": en.Actor, "ip": en.IP, "event": en.Event, "payload": en.Payload})
		prev, _ := hex.DecodeString(en.PrevHash)
		sum := sha256.Sum256(append(prev, canonical(t, raw)...))
		if hex.EncodeToString(sum[:]) != en.Hash {
			t.Errorf("entry %d does not re-check independently", en.Seq)
		}
	}
	// The script in docs/audit.md checks the same pack.
	if py, err := exec.LookPath("python3"); err == nil {
		file := filepath.Join(t.TempDir(), "pack.json")
		os.WriteFile(file, a.body, 0o600)
		out, err := exec.Command(py, "../docs/verify_evidence.py", file).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "all 1 entries check") {
			t.Errorf("docs/verify_evidence.py: %v\n%s", err, out)
		}
	} else {
		t.Log("python3 not found: the documented script was not run")
	}
}
