// Package i18n holds every user-facing text of Meekijk in Dutch, French and
// English, in one catalog (messages.json) that the agent's page and the
// console both load. Dutch is the default: it is the desks' own language.
package i18n

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// Lang is a supported language.
type Lang string

const (
	NL Lang = "nl"
	FR Lang = "fr"
	EN Lang = "en"
	// Default is used when nothing better is known.
	Default = NL
)

// Langs lists the supported languages, default first.
var Langs = []Lang{NL, FR, EN}

// Parse maps a locale ("fr_BE.UTF-8", "en-GB", "nl") to a supported
// language, or Default.
func Parse(locale string) Lang {
	l := strings.ToLower(locale)
	if len(l) >= 2 {
		switch Lang(l[:2]) {
		case NL:
			return NL
		case FR:
			return FR
		case EN:
			return EN
		}
	}
	return Default
}

// FromEnv picks the language from POSIX locale variables, in their order of
// precedence.
func FromEnv(getenv func(string) string) Lang {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := getenv(v); s != "" && s != "C" && s != "POSIX" {
			return Parse(s)
		}
	}
	return Default
}

//go:embed messages.json
var messagesJSON []byte

// Catalog maps a message key to its text per language.
type Catalog map[string]map[Lang]string

// Load parses the embedded catalog.
func Load() (Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(messagesJSON, &c); err != nil {
		return nil, fmt.Errorf("i18n: messages.json: %w", err)
	}
	return c, nil
}

// Subset returns the keys starting with prefix, for one user interface.
func (c Catalog) Subset(prefix string) Catalog {
	out := Catalog{}
	for k, v := range c {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// PageJSON is the part of the catalog a page needs (keys starting with one
// of the prefixes), as the JSON the page loads.
func PageJSON(prefixes ...string) ([]byte, error) {
	c, err := Load()
	if err != nil {
		return nil, err
	}
	page := Catalog{}
	for _, p := range prefixes {
		for k, v := range c.Subset(p) {
			page[k] = v
		}
	}
	b, err := json.Marshal(page)
	if err != nil {
		return nil, fmt.Errorf("i18n: %v catalog: %w", prefixes, err)
	}
	return b, nil
}

// T returns key's text in lang (Dutch when missing), with {name}
// placeholders replaced from params given as name, value pairs.
func (c Catalog) T(lang Lang, key string, params ...string) string {
	texts, ok := c[key]
	if !ok {
		return key
	}
	s, ok := texts[lang]
	if !ok {
		s = texts[Default]
	}
	for i := 0; i+1 < len(params); i += 2 {
		s = strings.ReplaceAll(s, "{"+params[i]+"}", params[i+1])
	}
	return s
}
