package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make sign-agent signs a cross-built Windows program with Authenticode
// through Debian's osslsigncode; the signature verifies against the
// certificate, and no longer once a byte of the program changed.
func TestSignAgent(t *testing.T) {
	for _, tool := range []string{"osslsigncode", "openssl", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs it): cannot sign here", tool)
		}
	}
	dir := t.TempDir()
	cmd := func(name string, args ...string) (string, error) {
		t.Helper()
		c := exec.Command(name, args...)
		c.Dir = dir
		out, err := c.CombinedOutput()
		return string(out), err
	}
	must := func(name string, args ...string) string {
		t.Helper()
		out, err := cmd(name, args...)
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return out
	}
	// A small Windows program stands in for agent.exe: signing does not
	// care what the program does, and it cross-builds in seconds.
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"Meekijk\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	must("go", "mod", "init", "example.test/small")
	build := exec.Command("go", "build", "-o", "agent.exe", ".")
	build.Dir, build.Env = dir, append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross-build: %v\n%s", err, out)
	}
	must("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Meekijk test signer",
		"-addext", "extendedKeyUsage=codeSigning", "-keyout", "key.pem", "-out", "cert.pem")

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "agent.exe")
	if out, err := cmd("make", "-s", "-C", root, "sign-agent", "SIGN_IN="+exe); err == nil || !strings.Contains(out, "CERT=") {
		t.Errorf("sign-agent without a certificate: %v\n%s", err, out)
	}
	must("make", "-s", "-C", root, "sign-agent", "SIGN_IN="+exe, "CERT="+filepath.Join(dir, "cert.pem"), "KEY="+filepath.Join(dir, "key.pem"))
	if out := must("osslsigncode", "verify", "-CAfile", "cert.pem", "-in", "agent.exe"); !strings.Contains(out, "Signature verification: ok") {
		t.Errorf("verify said:\n%s", out)
	}

	// One byte of the program changed: the signature no longer holds.
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/3] ^= 0xff
	if err := os.WriteFile(exe, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd("osslsigncode", "verify", "-CAfile", "cert.pem", "-in", "agent.exe"); err == nil {
		t.Errorf("a changed program still verifies:\n%s", out)
	}
}
