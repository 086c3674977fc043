package i18n

import (
	"sort"
	"testing"
)

func TestEveryMessageInEveryLanguage(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c) == 0 {
		t.Fatal("empty catalog")
	}
	names := func(s string) []string {
		var out []string
		for _, m := range Placeholder.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for key, texts := range c {
		want := names(texts[NL])
		sort.Strings(want)
		for _, l := range Langs {
			text := texts[l]
			if text == "" {
				t.Errorf("%s: no %s text", key, l)
				continue
			}
			got := names(text)
			sort.Strings(got)
			if len(got) != len(want) {
				t.Errorf("%s: %s has placeholders %v, nl has %v", key, l, got, want)
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: %s has placeholders %v, nl has %v", key, l, got, want)
					break
				}
			}
		}
		if len(texts) != len(Langs) {
			t.Errorf("%s: %d languages, want %d", key, len(texts), len(Langs))
		}
	}
}

func TestParse(t *testing.T) {
	cases := map[string]Lang{
		"fr_BE.UTF-8": FR, "en-GB": EN, "nl": NL, "NL_be": NL, "de_DE": NL, "": NL, "C": NL,
	}
	for in, want := range cases {
		if got := Parse(in); got != want {
			t.Errorf("Parse(%q) = %s, want %s", in, got, want)
		}
	}
	env := map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "fr_FR"}
	if got := FromEnv(func(k string) string { return env[k] }); got != FR {
		t.Errorf("FromEnv = %s, want fr (LC_MESSAGES before LANG)", got)
	}
}

// TestPlurals: a count reads "1 minuut", "2 minuten", "0 minute" in French
// (where 0 is singular, as the browser's Intl.PluralRules has it).
func TestPlurals(t *testing.T) {
	c := Catalog{"k": {NL: "{n|# minuut|# minuten} voor {who}", FR: "{n|# minute|# minutes} pour {who}", EN: "{n|# minute|# minutes} for {who}"}}
	cases := []struct {
		lang Lang
		n    string
		want string
	}{
		{NL, "1", "1 minuut voor Jan"}, {NL, "0", "0 minuten voor Jan"}, {NL, "2", "2 minuten voor Jan"},
		{FR, "0", "0 minute pour Jan"}, {FR, "1", "1 minute pour Jan"}, {FR, "2", "2 minutes pour Jan"},
		{EN, "1", "1 minute for Jan"}, {EN, "15", "15 minutes for Jan"},
	}
	for _, tc := range cases {
		if got := c.T(tc.lang, "k", "n", tc.n, "who", "Jan"); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
}
