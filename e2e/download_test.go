package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	windowsUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
	macUA     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)

// The customer's download page offers the agent for the visitor's system
// in the visitor's language, with the size and SHA-256 of exactly the file
// it serves; a system the desk has nothing for gets an honest message.
func TestDownloadPage(t *testing.T) {
	agents := t.TempDir()
	exe := []byte("MZ\x90\x00 a stand-in for agent.exe, signed elsewhere")
	for name, body := range map[string][]byte{
		"agent-windows-amd64.exe": exe,
		"agent-linux-amd64":       []byte("\x7fELF stand-in"),
		"agent-windows-amd64":     []byte("not offered: a Windows file needs .exe"),
		"README.txt":              []byte("not offered"),
	} {
		if err := os.WriteFile(filepath.Join(agents, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := newScene(t, "-agents", agents)
	r := s.relay
	sum := sha256.Sum256(exe)

	// The technician's code screen names the page.
	createTicket(t, s.console, "Kassa: scanner reageert niet", sceneCustomer, "")
	run(t, s.console, "start a session", chromedp.Click(chromedp.CSS(`#start-session`)), chromedp.WaitVisible(chromedp.CSS(`#download-link`)))
	if got := eval[string](t, s.console, `document.getElementById('download-link').textContent`); got != strings.TrimPrefix(r.url, "http://")+"/hulp" {
		t.Errorf("code screen links to %q", got)
	}

	// A French-speaking customer on Windows.
	fr := newTab(t, newBrowserWith(t, chromedp.UserAgent(windowsUA), chromedp.Flag("accept-lang", "fr-BE,fr")))
	run(t, fr, "open /hulp", chromedp.Navigate(r.url+"/hulp"), chromedp.WaitVisible(chromedp.CSS(`#download`)))
	if got := eval[string](t, fr, `document.getElementById('download').textContent`); got != "Télécharger Meekijk pour Windows" {
		t.Errorf("download button %q, want French, for Windows", got)
	}
	if got := eval[string](t, fr, `document.getElementById('file-name').textContent`); got != "agent-windows-amd64.exe" {
		t.Errorf("offered %q", got)
	}
	if got := eval[string](t, fr, `document.getElementById('file-sha256').textContent`); got != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA-256 shown %q, want %x", got, sum)
	}
	if got := eval[string](t, fr, `document.getElementById('file-size').textContent`); got != "0.0 MB" {
		t.Errorf("size shown %q", got)
	}
	others := eval[string](t, fr, `document.getElementById('others').textContent`)
	if !strings.Contains(others, "agent-linux-amd64") || strings.Contains(others, "README") || strings.Count(others, "agent-windows") != 0 {
		t.Errorf("other systems list %q: want the Linux agent only", others)
	}
	// The page's own link downloads exactly the file described.
	got := evalAsync[string](t, fr, `fetch(document.getElementById('download').href).then((r) => r.arrayBuffer())
		.then((b) => crypto.subtle.digest('SHA-256', b)).then((d) => [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, '0')).join(''))`)
	if got != hex.EncodeToString(sum[:]) {
		t.Errorf("downloaded file's SHA-256 %s, want %x", got, sum)
	}
	// The switch to Dutch.
	run(t, fr, "switch to Dutch", chromedp.Click(chromedp.CSS(`a[href="/hulp?lang=nl"]`)), chromedp.WaitVisible(chromedp.CSS(`#download`)))
	waitJS(t, fr, "page in Dutch", `document.getElementById('download').textContent === 'Meekijk downloaden voor Windows'`, 5*time.Second)

	// A Mac: nothing for it here, said plainly, with what there is.
	mac := newTab(t, newBrowserWith(t, chromedp.UserAgent(macUA), chromedp.Flag("accept-lang", "en-GB")))
	run(t, mac, "open /hulp on a Mac", chromedp.Navigate(r.url+"/hulp"), chromedp.WaitVisible(chromedp.CSS(`#nothing`)))
	if got := eval[string](t, mac, `document.getElementById('nothing').textContent`); !strings.Contains(got, "no program for macOS") {
		t.Errorf("Mac visitor told %q", got)
	}
	if eval[bool](t, mac, `document.getElementById('download') !== null`) {
		t.Error("a download offered to a Mac visitor")
	}

	// The page and its files carry the console's headers; only offered
	// names are served.
	resp, err := http.Get(r.url + "/hulp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download page headers: %v", resp.Header)
	}
	for _, name := range []string{"README.txt", "agent-windows-amd64", "..%2Fmeekijk.db", "agent-darwin-amd64"} {
		resp, err := http.Get(r.url + "/hulp/" + name)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("/hulp/%s: %d %q, want 404", name, resp.StatusCode, body)
		}
	}
}

// A relay started without -agents says it offers nothing, in the
// visitor's language.
func TestDownloadPageWithoutAgents(t *testing.T) {
	r := startRelay(t)
	tab := newTab(t, newBrowserWith(t, chromedp.UserAgent(windowsUA), chromedp.Flag("accept-lang", "nl-BE")))
	run(t, tab, "open /hulp", chromedp.Navigate(r.url+"/hulp"), chromedp.WaitVisible(chromedp.CSS(`#nothing`)))
	if got := eval[string](t, tab, `document.getElementById('nothing').textContent`); !strings.Contains(got, "geen programma aan voor Windows") {
		t.Errorf("told %q", got)
	}
}
