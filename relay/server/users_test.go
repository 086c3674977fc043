package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/store"
)

// The relay keeps the second factor's key in the data directory, 0600, and
// writes the summary of a login flood when it shuts down, so the counts of
// an unfinished window are not lost.
func TestRelayKeyFileAndLoginSummaryAtShutdown(t *testing.T) {
	dir := t.TempDir()
	url, _, stop := startRelay(t, dir)
	fi, err := os.Stat(filepath.Join(dir, auth.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	for range 8 {
		req, _ := http.NewRequest("POST", url+"/api/v1/login", strings.NewReader(`{"email":"admin","password":"guess"}`))
		req.Header.Set("Origin", url)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "meekijk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.AuditEntries(context.Background(), store.AuditFilter{Events: []string{"login_failures"}, Limit: 10})
	if err != nil || len(rows) != 1 {
		t.Fatalf("%d login_failures rows (%v), want 1", len(rows), err)
	}
	var sum struct{ Failures, Throttled int }
	if err := json.Unmarshal(rows[0].Payload, &sum); err != nil || sum.Failures != 5 || sum.Throttled != 3 {
		t.Errorf("summary %s (%v), want 5 failures and 3 throttled", rows[0].Payload, err)
	}
}
