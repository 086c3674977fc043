package console

import (
	"testing"

	"github.com/meekijk/meekijk/internal/i18n"
)

func TestAcceptLanguage(t *testing.T) {
	cases := map[string]i18n.Lang{
		"":                                i18n.NL,
		"fr-BE,fr;q=0.9,en;q=0.8":         i18n.FR,
		"de-DE,de;q=0.9,en;q=0.5":         i18n.EN,
		"en;q=0.4,nl-BE;q=0.8":            i18n.NL,
		"de":                              i18n.NL,
		"fr;q=bad,en":                     i18n.EN,
		"EN-gb":                           i18n.EN,
		"fr-CA;q=0.2, en-US;q=0.1, *;q=1": i18n.FR,
	}
	for h, want := range cases {
		if got := acceptLanguage(h); got != want {
			t.Errorf("acceptLanguage(%q) = %s, want %s", h, got, want)
		}
	}
}

func TestVisitorOS(t *testing.T) {
	cases := []struct{ ua, os, arch string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36", "windows", "amd64"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15", "darwin", "amd64"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "linux", "amd64"},
		{"Mozilla/5.0 (X11; Linux aarch64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36", "linux", "arm64"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36", "", ""},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "", ""},
		{"curl/8.5.0", "", "amd64"},
	}
	for _, c := range cases {
		if goos, arch := visitorOS(c.ua); goos != c.os || arch != c.arch {
			t.Errorf("visitorOS(%q) = %s/%s, want %s/%s", c.ua, goos, arch, c.os, c.arch)
		}
	}
}
