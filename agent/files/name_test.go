package files

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("ab", 150) + ".pdf"    // 304 bytes
	longUTF8 := strings.Repeat("é", 150) + ".txt" // 2-byte runes across the cut
	cases := []struct {
		in, want string // want "" means ErrBadName
	}{
		{"factuur 2026-001.pdf", "factuur 2026-001.pdf"},
		{"Résumé é ç €.txt", "Résumé é ç €.txt"},
		// Paths: only the last element survives, whatever the separator.
		{"../../etc/x", "x"},
		{"/etc/passwd", "passwd"},
		{`C:\Windows\x.dll`, "x.dll"},
		{`\\server\share\a.txt`, "a.txt"},
		{`\\?\C:\a.txt`, "a.txt"},
		{`..\..\boot.ini`, "boot.ini"},
		{"a/b\\c/d.txt", "d.txt"},
		{"dir/", ""},
		{`C:`, ""},
		{`C:x.dll`, "x.dll"},
		{"a:b.txt", "b.txt"}, // drive-relative on Windows
		{"ab:c.txt", "ab_c.txt"},
		{"a.txt:stream", "a.txt_stream"},
		// Nothing left.
		{"", ""},
		{".", ""},
		{"..", ""},
		{"...", ""},
		{"   ", ""},
		{"???", ""},
		{"\x00\x01", ""},
		// Windows-invalid characters become '_'.
		{"a<b>.txt", "a_b_.txt"},
		{`what?"*|.txt`, "what____.txt"},
		// Control and bidi characters are dropped.
		{"a\tb\nc\x7f.txt", "abc.txt"},
		{"invoice\u202Etxt.exe", "invoicetxt.exe"},
		{"x\u2066y\u2069.txt", "xy.txt"},
		// Hidden files and trailing dots and spaces.
		{"  .hidden  ", "hidden"},
		{".bashrc", "bashrc"},
		{"..config", "config"},
		{"a.txt.", "a.txt"},
		{"a.txt . .", "a.txt"},
		// Device names, with or without extension, any case.
		{"CON", "_CON"},
		{"nul.txt", "_nul.txt"},
		{"Aux.tar.gz", "_Aux.tar.gz"},
		{"com1", "_com1"},
		{"LPT9.log", "_LPT9.log"},
		{"COM¹.txt", "_COM¹.txt"},
		{"con .txt", "_con .txt"},
		{"CONFIG.SYS", "CONFIG.SYS"},
		{"com10", "com10"},
		{"NULL", "NULL"},
		{"dir/PRN", "_PRN"},
		// Invalid UTF-8 is replaced.
		{"a\xffb.txt", "a_b.txt"},
		// Long names keep their extension.
		{long, strings.Repeat("ab", 98) + ".pdf"},
		{longUTF8, strings.Repeat("é", 98) + ".txt"},
		{strings.Repeat("x", 300), strings.Repeat("x", 200)},
		{strings.Repeat("x", 250) + "." + strings.Repeat("y", 40), strings.Repeat("x", 200)},
		{strings.Repeat("x", 195) + strings.Repeat(" ", 50) + ".txt", strings.Repeat("x", 195) + ".txt"},
	}
	for _, c := range cases {
		got, err := SanitizeName(c.in)
		if c.want == "" {
			if !errors.Is(err, ErrBadName) {
				t.Errorf("SanitizeName(%q) = %q, %v; want ErrBadName", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("SanitizeName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// Whatever SanitizeName returns is a plain, bounded, valid name, and
// sanitizing it again changes nothing.
func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"../../etc/x", `C:\a\b.txt`, "CON", "  .hidden  ", "a<b>.txt", "é.txt", strings.Repeat("é", 120) + ".x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := SanitizeName(in)
		if err != nil {
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("error %v is not ErrBadName", err)
			}
			return
		}
		switch {
		case got == "", len(got) > MaxNameBytes, !utf8.ValidString(got),
			strings.ContainsAny(got, `/\<>:"|?*`), got[0] == '.', got[0] == ' ',
			strings.HasSuffix(got, "."), strings.HasSuffix(got, " "),
			isDeviceName(got):
			t.Fatalf("SanitizeName(%q) = %q", in, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || isBidiControl(r) {
				t.Fatalf("SanitizeName(%q) = %q: control %U", in, got, r)
			}
		}
		if again, err := SanitizeName(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, got, again, err)
		}
	})
}
