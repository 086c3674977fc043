package main

import (
	"bytes"
	"errors"
	"flag"
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

// TestHelpNamesDisplay: -h is not an error, and -display says it picks a
// monitor, so nobody passes it X's ":0" (issue 19, item 8).
func TestHelpNamesDisplay(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run([]string{"-h"}, &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v, want flag.ErrHelp (exit 0)", err)
	}
	if !strings.Contains(errOut.String(), "which monitor to share, counted from 0") || !strings.Contains(errOut.String(), "DISPLAY environment variable") {
		t.Fatalf("-h does not explain -display:\n%s", errOut.String())
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
