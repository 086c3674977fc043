package server

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/testrig"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	_, _, certPEM, keyPEM := testrig.SelfSigned(t, "127.0.0.1", "desk.example.be")
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// firstAdminPassword reads the password the first start printed.
func firstAdminPassword(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no first admin password in %q", out)
	}
	return m[1]
}

func post(t *testing.T, c *http.Client, u, host, origin, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Under TLS: HSTS on every answer, the login cookie __Host- prefixed, and
// a login from the plain-HTTP origin of the same host refused.
func TestTLSHardening(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, t.TempDir())
	_, u, out, _ := startRelayWith(t, Config{DataDir: dir, TLSCert: cert, TLSKey: key})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(u + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("Strict-Transport-Security %q", hsts)
	}
	login := `{"email":"admin","password":"` + firstAdminPassword(t, out.String()) + `"}`
	plain := "http://" + strings.TrimPrefix(u, "https://")
	if resp := post(t, c, u+"/api/v1/login", "", plain, login); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login with Origin %s: %d, want 403", plain, resp.StatusCode)
	}
	resp = post(t, c, u+"/api/v1/login", "", u, login)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-meekijk_login" || !cookies[0].Secure || cookies[0].Path != "/" || cookies[0].Domain != "" {
		t.Errorf("login cookies %+v, want one __Host-meekijk_login, Secure, Path=/", cookies)
	}
}

// With -public-url, a DNS-rebinding page (its own name now resolving to
// the relay, so Host and Origin agree with each other) is refused on the
// login and the agents' WebSocket; the real name works.
func TestPublicURLRefusesOtherHosts(t *testing.T) {
	public, err := ParsePublicURL("http://desk.example.be")
	if err != nil {
		t.Fatal(err)
	}
	_, _, out, _ := startRelayWith(t, Config{DataDir: t.TempDir(), PublicURL: public})
	if !strings.Contains(out.String(), "Console: http://desk.example.be/") {
		t.Errorf("the relay does not print its public URL: %q", out.String())
	}
	m := regexp.MustCompile(`Listening on (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no listen address printed: %q", out.String())
	}
	addr := m[1]
	login := `{"email":"admin","password":"` + firstAdminPassword(t, out.String()) + `"}`
	c := http.DefaultClient
	for _, path := range []string{"/api/v1/login", "/ws/agent"} {
		resp := post(t, c, "http://"+addr+path, "evil.example", "http://evil.example", login)
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("%s for Host evil.example: %d, want 421", path, resp.StatusCode)
		}
	}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health check by address: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp := post(t, c, "http://"+addr+"/api/v1/login", "desk.example.be", "http://desk.example.be", login); resp.StatusCode != http.StatusOK {
		t.Errorf("login at the public URL: %d", resp.StatusCode)
	}
}
