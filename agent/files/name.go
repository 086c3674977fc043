// Package files receives files that the technician sends to the customer's
// machine, safely: the name comes from the other side of the internet, so it
// is reduced to a plain file name (SanitizeName), and the bytes are written
// through an os.Root on the directory the customer chose, to a temporary
// name, and only given their real name once size and SHA-256 check out
// (Receiver).
//
// The package does no I/O besides the file system and speaks no wire format:
// the agent maps internal/datachannel's file_* messages onto a Receiver.
package files

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrBadName is returned when nothing usable is left of an offered name.
var ErrBadName = errors.New("unusable file name")

// MaxNameBytes bounds a sanitized name. Most file systems allow 255 bytes;
// the rest leaves room for " (123)" when the name is taken.
const MaxNameBytes = 200

// maxExtBytes is the longest suffix treated as an extension when shortening
// a name; a longer "extension" is just a dot in a long name.
const maxExtBytes = 16

// SanitizeName turns a name offered by the sending side into a plain file
// name that is safe on Windows, macOS and Linux, or returns ErrBadName.
//
// Everything up to the last '/' or '\' is dropped (whichever OS the sender
// runs, a name is never a path), and so is a drive prefix ("C:"): that alone
// disposes of "..", absolute, drive and UNC paths. Then control characters
// and Unicode bidirectional controls (which can make "txt.exe" display as
// "exe.txt") are removed; characters Windows refuses (<>:"|?*) become '_';
// leading dots and spaces (hidden files, look-alikes) and trailing dots and
// spaces (Windows silently drops them, so "a.txt." would become "a.txt")
// are removed; Windows device names (CON, NUL.txt, com1, …) get a '_'
// prefix, because opening them writes to a device instead of a file; and a
// name over MaxNameBytes is shortened on a UTF-8 boundary, keeping its
// extension. Unicode normalization is left alone.
func SanitizeName(name string) (string, error) {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if len(name) >= 2 && name[1] == ':' && isASCIILetter(name[0]) {
		name = name[2:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsControl(r), isBidiControl(r):
			// dropped
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.Trim(b.String(), " .")
	if isDeviceName(name) {
		name = "_" + name
	}
	name = shorten(name, MaxNameBytes)
	// Shortening keeps the start of the name, so it cannot make a device
	// name of what was not one; checking again costs nothing.
	if strings.Trim(name, "_-. ") == "" || isDeviceName(name) {
		return "", ErrBadName
	}
	return name, nil
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isBidiControl reports the characters that reorder how text is displayed
// (ALM, LRM, RLM, the embeddings and overrides, the isolates).
func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F ||
		0x202A <= r && r <= 0x202E || 0x2066 <= r && r <= 0x2069
}

// shorten cuts name to at most max bytes, keeping a short extension, on a
// rune boundary, and trims what the cut leaves at the end of the stem.
func shorten(name string, max int) string {
	if len(name) <= max {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtBytes {
		name, ext = name[:i], name[i:]
	}
	cut := max - len(ext)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return strings.TrimRight(name[:cut], " .") + ext
}

// deviceNames are the names Windows maps to devices in every directory,
// whatever the extension. COM0 and LPT0 and the superscript digits are on
// Microsoft's list too.
var deviceNames = func() map[string]bool {
	m := map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true}
	for _, d := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³"} {
		m["COM"+d] = true
		m["LPT"+d] = true
	}
	return m
}()

// isDeviceName reports whether Windows would open name as a device: its part
// before the first dot, ignoring trailing spaces and case, is a device name.
func isDeviceName(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	return deviceNames[strings.ToUpper(strings.TrimRight(stem, " "))]
}
