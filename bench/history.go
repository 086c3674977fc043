package bench

import (
	"bufio"
	"io"
	"strings"
)

// historyTitle heads the table of past runs in BENCHMARKS.md. Each run
// rewrites the file, so it reads the table back first and adds its own
// row: a regression shows as a row that is worse than the ones above it.
const historyTitle = "## History"

// HistoryHeader is the history table's columns.
var HistoryHeader = []string{"date (UTC)", "commit", "load (mean)", "glass-to-glass p50 / p95 ms",
	"scroll / move frames/s", "Allow to first frame ms", "input p50 / p95 ms", "bytes vs noVNC",
	"busy CPU: glass-to-glass p50 / p95 ms", "busy CPU: scroll / move frames/s"}

// historyKeep is how many runs the table keeps, newest last.
const historyKeep = 30

// ReadHistory returns the rows of the history table in an earlier report
// (nil when there is none), as cells.
func ReadHistory(r io.Reader) ([][]string, error) {
	var rows [][]string
	in := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(l, "## "):
			in = l == historyTitle
		case in && strings.HasPrefix(l, "|"):
			cells := splitRow(l)
			if len(cells) == 0 || cells[0] == HistoryHeader[0] || strings.Trim(cells[0], "-") == "" {
				continue // the header and its separator
			}
			rows = append(rows, cells)
		}
	}
	return rows, sc.Err()
}

// splitRow splits a markdown table row into cells, keeping escaped '|'.
func splitRow(l string) []string {
	l = strings.TrimSuffix(strings.TrimPrefix(l, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(l); i++ {
		switch {
		case l[i] == '\\' && i+1 < len(l) && l[i+1] == '|':
			cur.WriteByte('|')
			i++
		case l[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(l[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// AppendHistory adds row to the history, dropping the oldest beyond
// historyKeep.
func AppendHistory(rows [][]string, row []string) [][]string {
	rows = append(rows, row)
	if len(rows) > historyKeep {
		rows = rows[len(rows)-historyKeep:]
	}
	return rows
}
