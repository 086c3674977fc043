package recording_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/store/storetest"
	"github.com/meekijk/meekijk/relay/recording"
)

type env struct {
	st    *store.Store
	svc   *recording.Service
	srv   *httptest.Server
	sess  int64
	token string
}

func newEnv(t *testing.T, limits recording.Limits) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "meekijk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sess := storetest.WaitingSession(t, st, []byte("code"), time.Now().Add(time.Minute)).Session
	svc := recording.New(filepath.Join(dir, "recordings"), st, limits, slog.New(slog.DiscardHandler))
	token, err := svc.Open(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+recording.UploadPath+"/{seq}", svc.ServeUpload)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{st: st, svc: svc, srv: srv, sess: sess.ID, token: token}
}

// put uploads body as chunk seq and returns the status and error code.
func (e *env) put(t *testing.T, token, seq string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+recording.UploadPath+"/"+seq, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out.Error
}

var (
	header  = append([]byte{0x1a, 0x45, 0xdf, 0xa3}, bytes.Repeat([]byte{1}, 60)...)
	cluster = func(n int) []byte {
		return append([]byte{0x1f, 0x43, 0xb6, 0x75}, bytes.Repeat([]byte{byte(n)}, 100)...)
	}
)

func TestUploadRefusesBadInput(t *testing.T) {
	e := newEnv(t, recording.Limits{MaxChunk: 1000, MaxSession: 300})
	for _, tc := range []struct {
		name, token, seq string
		body             []byte
		status           int
		code             string
	}{
		{"no token", "", "0", header, 401, "no_token"},
		{"wrong token", "nope", "0", header, 401, "no_token"},
		{"seq not a number", e.token, "x", header, 400, "bad_seq"},
		{"negative seq", e.token, "-1", header, 400, "bad_seq"},
		{"too large", e.token, "0", make([]byte, 1001), 413, "chunk_too_large"},
		{"empty", e.token, "0", nil, 400, "empty"},
		{"first chunk not a header", e.token, "0", cluster(1), 400, "not_matroska"},
		{"ahead of order", e.token, "1", cluster(1), 409, "out_of_order"},
		{"header", e.token, "0", header, 204, ""},
		{"header again (a retry)", e.token, "0", header, 204, ""},
		{"second chunk not a cluster", e.token, "1", header, 400, "not_matroska"},
		{"cluster", e.token, "1", cluster(1), 204, ""},
		{"cluster", e.token, "2", cluster(2), 204, ""},
		{"over the session's limit", e.token, "3", cluster(3), 413, "recording_full"},
	} {
		status, code := e.put(t, tc.token, tc.seq, tc.body)
		if status != tc.status || code != tc.code {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, status, code, tc.status, tc.code)
		}
	}
	want := bytes.Join([][]byte{header, cluster(1), cluster(2)}, nil)
	got, err := os.ReadFile(e.svc.Path(e.sess))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file = %d bytes (%v), want the three accepted chunks (%d bytes)", len(got), err, len(want))
	}
	if fi, err := os.Stat(e.svc.Path(e.sess)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Dir(e.svc.Path(e.sess))); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	// Sealed, it takes nothing more.
	if err := e.svc.Seal(context.Background(), e.sess); err != nil {
		t.Fatal(err)
	}
	if status, code := e.put(t, e.token, "3", cluster(3)); status != 410 || code != "sealed" {
		t.Fatalf("after seal: %d %q, want 410 sealed", status, code)
	}
}

func TestChunksSealedInTheChainAndVerified(t *testing.T) {
	e := newEnv(t, recording.Limits{})
	ctx := context.Background()
	chunks := [][]byte{header, cluster(1), cluster(2), cluster(3)}
	for i, c := range chunks {
		if status, code := e.put(t, e.token, fmt.Sprint(i), c); status != 204 {
			t.Fatalf("chunk %d: %d %s", i, status, code)
		}
	}
	if err := e.svc.Seal(ctx, e.sess); err != nil {
		t.Fatal(err)
	}
	entries, err := e.st.SessionAudit(ctx, e.sess)
	if err != nil {
		t.Fatal(err)
	}
	var n, sealed int
	for _, en := range entries {
		switch en.Event {
		case "session." + store.EventRecordingChunk:
			n++
		case "session." + store.EventRecordingSealed:
			sealed++
		}
	}
	if n != len(chunks) || sealed != 1 {
		t.Fatalf("chain holds %d chunk and %d sealed entries, want %d and 1", n, sealed, len(chunks))
	}
	if ps, err := e.svc.Verify(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("Verify of an intact file = %v, %v", ps, err)
	}
	// One byte changed in chunk 2 is named.
	path := e.svc.Path(e.sess)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(header)+len(cluster(1))+10] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err := e.svc.Verify(ctx)
	if err != nil || len(ps) != 1 || ps[0].SessionID != e.sess || ps[0].Chunk != 2 {
		t.Fatalf("Verify of a tampered file = %v, %v; want chunk 2 of session %d", ps, err, e.sess)
	}
	if !strings.Contains(ps[0].String(), fmt.Sprintf("session %d: chunk 2", e.sess)) {
		t.Fatalf("problem reads %q", ps[0])
	}
}

func TestExpireDeletesAndAudits(t *testing.T) {
	e := newEnv(t, recording.Limits{})
	ctx := context.Background()
	if status, _ := e.put(t, e.token, "0", header); status != 204 {
		t.Fatal(status)
	}
	if err := e.svc.Seal(ctx, e.sess); err != nil {
		t.Fatal(err)
	}
	// Not yet due.
	if n, err := e.svc.Expire(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("Expire(1h) = %d, %v", n, err)
	}
	time.Sleep(5 * time.Millisecond)
	if n, err := e.svc.Expire(ctx, time.Millisecond); err != nil || n != 1 {
		t.Fatalf("Expire(1ms) = %d, %v", n, err)
	}
	if _, err := os.Stat(e.svc.Path(e.sess)); !os.IsNotExist(err) {
		t.Fatalf("file still there: %v", err)
	}
	rec, err := e.st.Recording(ctx, e.sess)
	if err != nil || rec.DeletedAt.IsZero() {
		t.Fatalf("recording = %+v, %v; want deleted", rec, err)
	}
	entries, _ := e.st.SessionAudit(ctx, e.sess)
	if last := entries[len(entries)-1]; last.Event != "session."+store.EventRecordingDeleted {
		t.Fatalf("last entry %s, want the deletion", last.Event)
	}
}
