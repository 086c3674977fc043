package datachannel

import (
	"testing"

	"github.com/meekijk/meekijk/internal/wirejson/wirejsontest"
)

// TestDecodeIsExact: issue 15 finding 10 for the data channel. A key in
// another case, or twice, would be read one way by the agent (encoding/json:
// case-insensitive, last wins) and another by the console's JavaScript.
func TestDecodeIsExact(t *testing.T) {
	wirejsontest.Refuses(t, func(b []byte) error { _, err := Decode(b); return err }, ErrMalformed, [][3]string{
		{"upper-case envelope key", `{"TYPE":"text","data":{"text":"x"}}`, "TYPE"},
		{"upper-case data key", `{"type":"text","data":{"TEXT":"x"}}`, "TEXT"},
		{"duplicate in two cases", `{"type":"text","data":{"TEXT":"x","text":"y"}}`, "TEXT"},
		{"duplicate", `{"type":"text","data":{"text":"x","text":"y"}}`, "appears twice"},
		{"duplicate type", `{"type":"text","type":"key","data":{"text":"x"}}`, "appears twice"},
		{"unknown key action", `{"type":"key","data":{"key":"a","action":"press"}}`, "action"},
	})
	if _, err := Decode([]byte(`{"type":"text","data":{"text":"x"}}`)); err != nil {
		t.Fatalf("the exact form: %v", err)
	}
}
