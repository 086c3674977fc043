package console

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"
)

// monthBar is one month of a customer's chart.
type monthBar struct {
	Month          string // YYYY-MM
	BilledMinutes  int64  // billed after rounding and minimum: what the customer pays
	CoveredSeconds int64  // worked and covered by the contract
}

// chartText is the chart's words in the reader's language.
type chartText struct {
	Title, Billable, Covered, Hours string
	Comma                           bool // decimal comma (nl, fr)
}

// The chart's geometry, in pixels.
const (
	chartLeft   = 56
	chartRight  = 16
	chartTop    = 64
	chartBottom = 36
	chartPlot   = 220 // height of the plot area
	chartGroup  = 56  // width of one month
	chartBar    = 18
)

// Colours that stay apart in grey print and for common colour blindness.
const (
	colourBilled  = "#c2410c"
	colourCovered = "#1d6fb8"
)

// renderChart draws the bars as a standalone SVG document. Every text is
// escaped (a customer's name is user input), and there are no scripts,
// styles or links: the console shows it as an <img>, and one opened on its
// own still has nothing to run.
func renderChart(txt chartText, bars []monthBar) []byte {
	top := 0.0
	for _, b := range bars {
		top = max(top, float64(b.BilledMinutes)/60, float64(b.CoveredSeconds)/3600)
	}
	step := niceStep(top)
	yMax := step * math.Max(1, math.Ceil(top/step))
	width := chartLeft + chartRight + chartGroup*len(bars)
	width = max(width, 420)
	height := chartTop + chartPlot + chartBottom
	y := func(hours float64) float64 { return chartTop + chartPlot - hours/yMax*chartPlot }
	num := func(v float64, decimals int) string {
		s := fmt.Sprintf("%.*f", decimals, v)
		if txt.Comma {
			s = strings.Replace(s, ".", ",", 1)
		}
		return s
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" font-family="system-ui, sans-serif" font-size="12">`,
		width, height, width, height)
	b.WriteString("\n<title>")
	esc(&b, txt.Title)
	b.WriteString("</title>\n")
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14" font-weight="600">`, chartLeft)
	esc(&b, txt.Title)
	b.WriteString("</text>\n")
	for i, l := range []struct{ colour, label string }{{colourBilled, txt.Billable}, {colourCovered, txt.Covered}} {
		x := chartLeft + i*190
		fmt.Fprintf(&b, `<rect x="%d" y="32" width="12" height="12" fill="%s"/><text x="%d" y="42">`, x, l.colour, x+16)
		esc(&b, l.label)
		b.WriteString("</text>\n")
	}
	for v := 0.0; v <= yMax+step/2; v += step {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d8dde6"/>`, chartLeft, width-chartRight, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", chartLeft-6, y(v)+4, num(v, decimalsOf(step)))
	}
	fmt.Fprintf(&b, `<text x="12" y="%d" transform="rotate(-90 12 %d)" text-anchor="middle">`, chartTop+chartPlot/2, chartTop+chartPlot/2)
	esc(&b, txt.Hours)
	b.WriteString("</text>\n")
	for i, m := range bars {
		x0 := chartLeft + i*chartGroup + (chartGroup-2*chartBar-4)/2
		for j, v := range []struct {
			hours  float64
			colour string
		}{{float64(m.BilledMinutes) / 60, colourBilled}, {float64(m.CoveredSeconds) / 3600, colourCovered}} {
			x := x0 + j*(chartBar+4)
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"/>`, x, y(v.hours), chartBar, y(0)-y(v.hours), v.colour)
			if v.hours > 0 {
				fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, x+chartBar/2, y(v.hours)-3, num(v.hours, 1))
			}
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">`, chartLeft+i*chartGroup+chartGroup/2, chartTop+chartPlot+18)
		esc(&b, m.Month)
		b.WriteString("</text>\n")
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// niceStep is a gridline step of 1, 2 or 5 times a power of ten giving at
// most five steps up to top (and one hour for an empty chart).
func niceStep(top float64) float64 {
	if top <= 0 {
		return 0.25
	}
	raw := top / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			return m * pow
		}
	}
	return 10 * pow
}

// decimalsOf is how many decimals show a step's multiples exactly.
func decimalsOf(step float64) int {
	for d := 0; d < 3; d++ {
		if math.Abs(step*math.Pow(10, float64(d))-math.Round(step*math.Pow(10, float64(d)))) < 1e-9 {
			return d
		}
	}
	return 2
}

func esc(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // writes to a buffer: cannot fail
}
