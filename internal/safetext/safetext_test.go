package safetext

import "testing"

func TestLineAndLines(t *testing.T) {
	cases := []struct{ in, line, lines string }{
		{"Factuur\u202efdp.exe", "Factuurfdp.exe", "Factuurfdp.exe"},
		{"\u2066Piet\u2069 \u200eJanssens\u200f\u061c", "Piet Janssens", "Piet Janssens"},
		{"zero\u200bwidth\ufeff\u00ad", "zerowidth", "zerowidth"},
		{"two\nlines\tand\u2028more\u0085", "twolinesandmore", "two\nlines\tandmore"},
		{"bad \xff byte", "bad  byte", "bad  byte"},
		// Right-to-left scripts keep their letters.
		{"مرحبا שלום", "مرحبا שלום", "مرحبا שלום"},
		{"Crème brûlée – 5 €", "Crème brûlée – 5 €", "Crème brûlée – 5 €"},
	}
	for _, c := range cases {
		if got := Line(c.in); got != c.line {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.line)
		}
		if got := Lines(c.in); got != c.lines {
			t.Errorf("Lines(%q) = %q, want %q", c.in, got, c.lines)
		}
	}
}
