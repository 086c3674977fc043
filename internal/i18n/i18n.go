// Package i18n holds every user-facing text of Meekijk in Dutch, French and
// English, in one catalog (messages.json) that the agent's page and the
// console both load. Dutch is the default: it is the desks' own language.
package i18n

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
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
// placeholders replaced from params given as name, value pairs. A count
// is written {name|one|other}: the form for lang's plural category of the
// number, with # standing for it ("{minutes|# minuut|# minuten}"), so no
// page says "1 minutes".
func (c Catalog) T(lang Lang, key string, params ...string) string {
	texts, ok := c[key]
	if !ok {
		return key
	}
	s, ok := texts[lang]
	if !ok {
		s = texts[Default]
	}
	values := map[string]string{}
	for i := 0; i+1 < len(params); i += 2 {
		values[params[i]] = params[i+1]
	}
	return Placeholder.ReplaceAllStringFunc(s, func(m string) string {
		p := Placeholder.FindStringSubmatch(m)
		v, ok := values[p[1]]
		switch {
		case !ok:
			return m
		case p[2] == "":
			return v
		case PluralOne(lang, v):
			return strings.ReplaceAll(p[3], "#", v)
		default:
			return strings.ReplaceAll(p[4], "#", v)
		}
	})
}

// Placeholder matches {name} and the plural form {name|one|other}; its
// groups are the name, the "|" that marks a plural, and the two forms.
var Placeholder = regexp.MustCompile(`\{([a-z]+)(?:(\|)([^{}|]*)\|([^{}|]*))?\}`)

// PluralOne tells whether the number n takes the "one" form in lang, as
// CLDR (and the browser's Intl.PluralRules) has it: 1 in Dutch and
// English, 0 and 1 in French. A value that is not a whole number takes
// "other".
func PluralOne(lang Lang, n string) bool {
	i, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return false
	}
	if lang == FR {
		return i == 0 || i == 1
	}
	return i == 1
}
