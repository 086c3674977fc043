package i18n

import (
	"regexp"
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
	placeholder := regexp.MustCompile(`\{[a-z]+\}`)
	for key, texts := range c {
		want := placeholder.FindAllString(texts[NL], -1)
		sort.Strings(want)
		for _, l := range Langs {
			text := texts[l]
			if text == "" {
				t.Errorf("%s: no %s text", key, l)
				continue
			}
			got := placeholder.FindAllString(text, -1)
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
