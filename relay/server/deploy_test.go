package server

import (
	"os/exec"
	"strings"
	"testing"
)

// The sample HAProxy configuration in deploy/ is one HAProxy accepts.
func TestSampleHAProxyConfig(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (Debian haproxy; scripts/deps.sh installs it)")
	}
	// -c checks the file without binding; the certificate it names does
	// not exist here, so a copy without TLS is checked: everything else
	// stays as written.
	out, err := exec.Command("sh", "-c", `sed 's/ ssl crt [^ ]*//; s/ alpn [^ ]*//' ../../deploy/haproxy.cfg > "$0/haproxy.cfg" && "$1" -c -f "$0/haproxy.cfg"`, t.TempDir(), bin).CombinedOutput()
	if err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}

// The systemd unit is one systemd accepts.
func TestSystemdUnit(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	out, _ := exec.Command(bin, "verify", "--man=no", "../../deploy/meekijk-relay.service").CombinedOutput()
	// verify says the binary is not installed here; anything else is a
	// mistake in the unit.
	for line := range strings.Lines(string(out)) {
		if line = strings.TrimSpace(line); line != "" && !strings.Contains(line, "/usr/local/bin/meekijk-relay is not executable") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}
