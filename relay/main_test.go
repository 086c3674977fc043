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
		{[]string{"--version"}, "", "relay dev"},
		{[]string{"-code-ttl", "soon"}, "-code-ttl", ""},
		{[]string{"-code-ttl", "-5m"}, "-code-ttl", ""},
		{[]string{"-tls-cert", "c.pem"}, "go together", ""},
		{[]string{"-nonsense"}, "flag provided but not defined", ""},
		{[]string{"-public-url", "ftp://desk.example.be"}, "-public-url", ""},
		{[]string{"-public-url", "https://desk.example.be/console"}, "-public-url", ""},
		{[]string{"-public-url", "desk.example.be"}, "-public-url", ""},
		{[]string{"-tls-cert", "c.pem", "-tls-key", "k.pem", "-public-url", "http://desk.example.be"}, "https://", ""},
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
