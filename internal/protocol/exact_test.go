package protocol

import (
	"errors"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/wirejson/wirejsontest"
)

// TestDecodeIsExact: issue 15 finding 10. encoding/json matches keys
// case-insensitively and keeps the last of two; a browser reads the same
// bytes differently, so such messages must be refused, not interpreted.
func TestDecodeIsExact(t *testing.T) {
	wirejsontest.Refuses(t, func(b []byte) error { _, err := Decode(b); return err }, ErrMalformed, [][3]string{
		{"duplicate with other case", `{"type":"consent","data":{"level":"control","granted":true,"Granted":false}}`, "Granted"},
		{"duplicate", `{"type":"consent","data":{"level":"control","granted":true,"granted":false}}`, "appears twice"},
		{"duplicate type", `{"type":"end","type":"consent","data":{}}`, "appears twice"},
		{"upper-case envelope key", `{"TYPE":"end"}`, "TYPE"},
		{"upper-case data key", `{"type":"join","data":{"Code":"123456789"}}`, "Code"},
		{"nested duplicate", `{"type":"consent_request","data":{"level":"view","intervention":{"description":"d","category":"c","categoryNames":{"nl":"a","nl":"b"}}}}`, "appears twice"},
		{"unknown role", `{"type":"hello","data":{"protocol":1,"role":"admin"}}`, "role"},
		{"unknown keep", `{"type":"consent_request","data":{"level":"view","keep":"forever"}}`, "keep"},
		{"unknown cost reason", `{"type":"consent_request","data":{"level":"control","cost":{"reasons":["free_beer"],"centsPerHour":1,"incrementMinutes":1,"minimumMinutes":0,"vatPercent":21}}}`, "cost.reasons[0]"},
		{"unknown reconfirm outcome", `{"type":"reconfirm","data":{"outcome":"maybe"}}`, "outcome"},
		{"unknown file direction", `{"type":"file_event","data":{"direction":"sideways","name":"a","size":1,"outcome":"done"}}`, "direction"},
		{"unknown file outcome", `{"type":"file_event","data":{"direction":"to_customer","name":"a","size":1,"outcome":"stolen"}}`, "outcome"},
		{"unknown party", `{"type":"end","data":{"by":"nobody"}}`, "by"},
		{"unknown status", `{"type":"status","data":{"status":"hacked"}}`, "status"},
		{"unknown level reason", `{"type":"level","data":{"level":"view","reason":"whim"}}`, "reason"},
		{"lone surrogate", `{"type":"chat","data":{"text":"\ud800"}}`, "surrogate"},
	})
	// The exact forms still decode.
	for _, ok := range []string{
		`{"type":"consent","data":{"level":"control","granted":true}}`,
		`{"type":"end","data":{"by":"customer","reason":"stopped"}}`,
		`{"type":"end"}`,
		`{"type":"status","data":{"status":"ended","by":"relay","reason":"agent_gone"}}`,
	} {
		if _, err := Decode([]byte(ok)); err != nil {
			t.Errorf("Decode(%s): %v", ok, err)
		}
	}
}

// TestDecodeRefusesUnknownLevel: an unknown consent level is refused by the
// decoder. The level's type (with UnmarshalText) comes from the hub
// rewrite; wirejson.Check decodes through it, so this passes once both are
// merged.
func TestDecodeRefusesUnknownLevel(t *testing.T) {
	msg := `{"type":"consent","data":{"level":"superuser","granted":true}}`
	if m, err := Decode([]byte(msg)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "superuser") {
		t.Fatalf("Decode(%s) = %#v, %v; want ErrMalformed naming superuser", msg, m, err)
	}
}
