package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
		wantOut string
	}{
		{[]string{"--version"}, "", "agent dev"},
		{[]string{}, "-relay is required", ""},
		{[]string{"-relay", "ftp://x"}, "http", ""},
		{[]string{"-relay", "http://127.0.0.1:1", "-ice-allow", "10.0.0.0/33"}, "-ice-allow", ""},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		err := run(c.args, &out, &errOut)
		if c.wantErr == "" && err != nil {
			t.Errorf("%v: %v", c.args, err)
		}
		if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%v: err %v, want %q", c.args, err, c.wantErr)
		}
		if !strings.Contains(out.String(), c.wantOut) {
			t.Errorf("%v: printed %q, want %q", c.args, out.String(), c.wantOut)
		}
	}
}

func TestParseNets(t *testing.T) {
	nets, err := parseNets(" 127.0.0.0/8, ::1/128 ,")
	if err != nil || len(nets) != 2 || nets[0].String() != "127.0.0.0/8" || nets[1].String() != "::1/128" {
		t.Fatalf("parseNets = %v, %v", nets, err)
	}
	if nets, err := parseNets(""); err != nil || nets != nil {
		t.Fatalf("empty: %v, %v; want nil (all networks)", nets, err)
	}
}

// A relay address built in (make agent RELAY_URL=...) is the default and
// --version says which it is.
func TestBuiltInRelay(t *testing.T) {
	defer func(old string) { relayURL = old }(relayURL)
	relayURL = "https://support.example.be"
	var out, errOut bytes.Buffer
	if err := run([]string{"--version"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "agent dev\nrelay https://support.example.be\n" {
		t.Errorf("--version printed %q", got)
	}
	// A bad address given at the command line still wins over the
	// built-in one, and is refused.
	if err := run([]string{"-relay", "ftp://x"}, &out, &errOut); err == nil {
		t.Error("-relay ftp://x accepted")
	}
}
