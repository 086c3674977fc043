package billing_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/billing"
)

const docPath = "../../docs/billing.md"

type docExample struct {
	line              int // of the request block, for messages
	request, response string
}

// docExamples finds every ```json block followed directly (prose between
// is fine, another code block is not) by a second ```json block: a quote
// request and the statement it gives.
func docExamples(doc []byte) []docExample {
	type block struct {
		line int
		lang string
		body string
	}
	var blocks []block
	var cur *block
	var body strings.Builder
	for i, line := range strings.Split(string(doc), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &block{line: i + 1, lang: strings.TrimPrefix(trimmed, "```")}
			body.Reset()
		case cur != nil && trimmed == "```":
			cur.body = body.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		}
	}
	var out []docExample
	for i := 0; i+1 < len(blocks); i++ {
		if blocks[i].lang == "json" && blocks[i+1].lang == "json" {
			out = append(out, docExample{blocks[i].line, blocks[i].body, blocks[i+1].body})
			i++
		}
	}
	return out
}

// TestDocExamples keeps docs/billing.md honest: each example's request,
// billed by Compute, gives what its response block shows. A response may
// leave fields out to stay readable (every field it shows must match, and
// every list must have all its entries), but it must show the totals.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	examples := docExamples(doc)
	if len(examples) < 7 {
		t.Fatalf("%d examples in %s, want at least 7", len(examples), docPath)
	}
	for _, ex := range examples {
		t.Run(fmt.Sprintf("line %d", ex.line), func(t *testing.T) {
			in, err := billing.Decode(strings.NewReader(ex.request))
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			st := compute(t, in)
			var want, got map[string]any
			if err := json.Unmarshal([]byte(ex.response), &want); err != nil {
				t.Fatalf("response block: %v", err)
			}
			if _, ok := want["totals"]; !ok {
				t.Fatal("the response block does not show the totals")
			}
			b, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if err := shows("", want, got); err != nil {
				var pretty bytes.Buffer
				_ = json.Indent(&pretty, b, "", "  ")
				t.Errorf("%v\nCompute gives:\n%s", err, pretty.String())
			}
		})
	}
}

// shows reports where want, a JSON value with fields left out, differs
// from got.
func shows(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an object", path, got)
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing, want %v", path, k, v)
			}
			if err := shows(path+"."+k, v, gv); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %d entries", path, got, len(w))
		}
		for i := range w {
			if err := shows(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Errorf("%s: got %v, want %v", path, got, want)
	}
	return nil
}
