package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/console"
	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/store"
)

type part struct {
	field, name string
	data        []byte
}

// portalUpload posts a multipart form as the portal's page does.
func (e *env) portalUpload(cookie, csrf, path string, fields map[string]string, files ...part) answer {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			e.t.Fatal(err)
		}
		_, _ = w.Write(f.data)
	}
	_ = mw.Close()
	req, err := http.NewRequest("POST", e.srv.URL+path, &b)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("Cookie", "meekijk_portal="+cookie)
	req.Header.Set(auth.CSRFHeader, csrf)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, body}
}

// signedInAs signs a new contact of customer in through a staff link.
func (e *env) signedInAs(staff client, customer, name string) (store.Contact, string, string) {
	e.t.Helper()
	ct := e.contact(customer, name, "general")
	var l struct{ Link string }
	e.portalLink(staff, ct.ID).decode(e.t, &l)
	cookie, csrf, a := e.portalSignIn(l.Link)
	if cookie == "" {
		e.t.Fatalf("sign-in of %s: %d %s", name, a.status, a.body)
	}
	return ct, cookie, csrf
}

func (e *env) storedFiles() []string {
	e.t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.dir, "attachments"))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range ents {
		out = append(out, d.Name())
	}
	return out
}

// A request with files: stored privately, listed on the ticket for the
// customer and the desk, downloaded as attachments. Refused requests (a
// file too large, no description, no CSRF token) leave no ticket and no
// file behind; another company's ticket and file are "not found".
func TestPortalAttachments(t *testing.T) {
	e := newEnv(t)
	staff := e.login()
	_, cookie, csrf := e.signedInAs(staff, "Bakkerij Peeters", "Ann Peeters")
	_, otherCookie, otherCSRF := e.signedInAs(staff, "Garage Claes", "Bart Claes")
	form := map[string]string{"kind": "problem", "priority": "high", "title": "Kassa start niet", "description": "Zie foto."}
	photo := part{"attachment", "C:\\Users\\ann\\foutmelding.png", []byte("\x89PNG fake image")}
	log := part{"attachment", "kassa.log", []byte("<script>alert(1)</script>")}

	// Refused: too large, no description, no CSRF token. Nothing remains.
	big := part{"attachment", "groot.bin", bytes.Repeat([]byte{'x'}, console.MaxAttachmentBytes+1)}
	if a := e.portalUpload(cookie, csrf, "/portaal/api/tickets", form, photo, big); a.status != http.StatusRequestEntityTooLarge || a.problem(t).Error != "file_too_large" {
		t.Fatalf("oversized file: %d %s", a.status, a.body)
	}
	noDesc := map[string]string{"kind": "problem", "priority": "high", "title": "Kassa", "description": " "}
	if a := e.portalUpload(cookie, csrf, "/portaal/api/tickets", noDesc, photo); a.status != http.StatusBadRequest || a.problem(t).Field != "description" {
		t.Fatalf("no description: %d %s", a.status, a.body)
	}
	if a := e.portalUpload(cookie, "wrong", "/portaal/api/tickets", form, photo); a.status != http.StatusForbidden {
		t.Fatalf("wrong CSRF: %d %s", a.status, a.body)
	}
	if ts, _ := e.st.Tickets(context.Background(), store.TicketFilter{}); len(ts) != 0 {
		t.Fatalf("refused requests left %d tickets", len(ts))
	}
	if left := e.storedFiles(); len(left) != 0 {
		t.Fatalf("refused requests left files %v", left)
	}

	a := e.portalUpload(cookie, csrf, "/portaal/api/tickets", form, photo, log)
	if a.status != http.StatusCreated {
		t.Fatalf("request with files: %d %s", a.status, a.body)
	}
	var tk struct {
		ID        int64
		Reference string
	}
	a.decode(t, &tk)
	if a := e.portalUpload(cookie, csrf, fmt.Sprintf("/portaal/api/tickets/%d/files", tk.ID), map[string]string{"body": "Nog een"},
		part{"attachment", "extra.txt", []byte("meer")}); a.status != http.StatusCreated {
		t.Fatalf("add a file: %d %s", a.status, a.body)
	}
	var detail struct {
		Files []struct {
			ID   int64
			Name string
			Size int64
			By   string
		}
		Notes []struct{ Body string }
	}
	e.portalDo(cookie, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d", tk.ID), "").decode(t, &detail)
	if len(detail.Files) != 3 || detail.Files[0].Name != "foutmelding.png" || detail.Files[0].Size != int64(len(photo.data)) ||
		detail.Files[0].By != "Ann Peeters" || len(detail.Notes) != 2 {
		t.Fatalf("detail = %+v", detail)
	}
	for _, f := range e.storedFiles() {
		if fi, err := os.Stat(filepath.Join(e.dir, "attachments", f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("stored file %s: %v %v", f, fi.Mode(), err)
		}
	}
	path := fmt.Sprintf("/portaal/api/tickets/%d/files/%d", tk.ID, detail.Files[1].ID)
	a = e.portalDo(cookie, "", "GET", path, "")
	if a.status != http.StatusOK || string(a.body) != string(log.data) || a.header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(a.header.Get("Content-Disposition"), "attachment") || a.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("download: %d %v %q", a.status, a.header, a.body)
	}

	// The desk sees and downloads them; a portal cookie does not pass there.
	var staffFiles []struct{ Name, By string }
	e.call(staff, "GET", fmt.Sprintf("/api/v1/tickets/%d/files", tk.ID), nil, 200, &staffFiles)
	if len(staffFiles) != 3 || staffFiles[2].Name != "extra.txt" {
		t.Errorf("staff list = %+v", staffFiles)
	}
	if a := e.do(staff, "GET", fmt.Sprintf("/api/v1/tickets/%d/files/%d", tk.ID, detail.Files[0].ID), ""); a.status != 200 || string(a.body) != string(photo.data) {
		t.Errorf("staff download: %d", a.status)
	}
	if a := e.do(client{cookie: cookie}, "GET", fmt.Sprintf("/api/v1/tickets/%d/files", tk.ID), ""); a.status != http.StatusUnauthorized {
		t.Errorf("portal cookie on the staff list: %d", a.status)
	}

	// Another company's person: the same 404 as for what does not exist.
	missing := e.portalDo(otherCookie, "", "GET", "/portaal/api/tickets/99999/files/1", "")
	for _, a := range []answer{
		e.portalDo(otherCookie, "", "GET", path, ""),
		e.portalUpload(otherCookie, otherCSRF, fmt.Sprintf("/portaal/api/tickets/%d/files", tk.ID), nil, part{"attachment", "x.txt", []byte("x")}),
		e.portalDo(cookie, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d/files/99999", tk.ID), ""),
	} {
		if a.status != http.StatusNotFound || string(a.body) != string(missing.body) {
			t.Errorf("foreign or missing file: %d %s, want %s", a.status, a.body, missing.body)
		}
	}
	if n := len(e.storedFiles()); n != 3 {
		t.Errorf("%d files stored, want 3", n)
	}
}
