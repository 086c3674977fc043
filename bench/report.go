package bench

import (
	"fmt"
	"io"
	"strings"
)

// Verdict compares a figure with its target.
type Verdict int

// Verdicts.
const (
	NotMeasured Verdict = iota
	Pass
	Miss
	Noisy // the rounds disagree too much to call it either way
)

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Miss:
		return "**miss**"
	case Noisy:
		return "noisy: no result"
	}
	return "n/a"
}

// Check is Pass when ok, else Miss.
func Check(ok bool) Verdict {
	if ok {
		return Pass
	}
	return Miss
}

// Figure is one line of the results table.
type Figure struct {
	Name, Value, Target string
	Verdict             Verdict
}

// Report is what BENCHMARKS.md says.
type Report struct {
	Machine  [][2]string // label, value
	Figures  []Figure
	Sections []Section // further tables and notes, in order
}

// Section is a headed part of the report: a table, text, or both.
type Section struct {
	Title  string
	Text   string     // markdown, before the table
	Header []string   // empty: no table
	Rows   [][]string // cells are markdown
	Pre    string     // verbatim text (a profile), after the table
}

// Write renders the report as markdown, after the fixed preamble intro.
func (r *Report) Write(w io.Writer, intro string) error {
	var b strings.Builder
	b.WriteString(intro)
	table(&b, []string{"", ""}, func() [][]string {
		var rows [][]string
		for _, m := range r.Machine {
			rows = append(rows, []string{m[0], m[1]})
		}
		return rows
	}())
	b.WriteString("\n## Results\n\n")
	var rows [][]string
	for _, f := range r.Figures {
		rows = append(rows, []string{f.Name, f.Value, f.Target, f.Verdict.String()})
	}
	table(&b, []string{"figure", "measured", "target", "result"}, rows)
	for _, s := range r.Sections {
		s.write(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// write renders the section as markdown, from its heading on.
func (s Section) write(b *strings.Builder) {
	fmt.Fprintf(b, "\n## %s\n\n", s.Title)
	if s.Text != "" {
		b.WriteString(strings.TrimSpace(s.Text) + "\n\n")
	}
	if len(s.Header) > 0 {
		table(b, s.Header, s.Rows)
	}
	if s.Pre != "" {
		fmt.Fprintf(b, "\n```\n%s\n```\n", strings.TrimRight(s.Pre, "\n"))
	}
}

// table writes a markdown table; '|' in a cell would split it, so it is
// escaped.
func table(b *strings.Builder, header []string, rows [][]string) {
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
}
