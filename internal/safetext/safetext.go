// Package safetext is the one place text that staff or agents supply is
// cleaned before anyone is shown it: ticket titles, customer and contact
// names, technician names, host names, chat lines, consent answers.
//
// It removes control characters and every format character (Unicode
// category Cf): the bidirectional overrides, embeddings and isolates
// (U+202A–U+202E, U+2066–U+2069), the direction marks (U+200E, U+200F,
// U+061C), zero-width characters and the like. A right-to-left override in
// a ticket title can make the customer's consent question or the status
// page read as something else than what is stored ("ticket for
// invoice‮fdp.exe" shows as "…exe.pdf"), and invisible characters make two
// different names look the same. Names and titles in right-to-left
// scripts keep working: their direction comes from the letters themselves.
// The price is that emoji sequences joined with U+200D fall apart, which a
// helpdesk's names and titles can bear.
package safetext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line cleans one line of text: controls (tabs and line breaks included)
// and format characters are removed, and the line and paragraph
// separators U+2028 and U+2029 with them.
func Line(s string) string {
	return strings.Map(func(r rune) rune {
		if drop(r) {
			return -1
		}
		return r
	}, s)
}

// Lines is Line for multi-line text: line breaks and tabs are kept.
func Lines(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if drop(r) {
			return -1
		}
		return r
	}, s)
}

func drop(r rune) bool {
	// utf8.RuneError is what invalid UTF-8 decodes to: dropped, so that
	// cleaned text is always valid UTF-8.
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' ||
		r == utf8.RuneError
}
