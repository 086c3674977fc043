package msgtag_test

import (
	"encoding/json"
	"testing"

	"github.com/meekijk/meekijk/internal/msgtag"
)

type ping struct{}

func (ping) Type() string { return "ping" }

type pong struct{}

func (pong) Type() string { return "pong" }

func decodeNothing(json.RawMessage) (msgtag.Tagged, error) { return ping{}, nil }

func TestTagsComeFromTypeMethods(t *testing.T) {
	d := msgtag.New(msgtag.For[ping](decodeNothing), msgtag.For[pong](decodeNothing))
	if _, ok := d["ping"]; !ok || len(d) != 2 {
		t.Fatalf("registry %v", d)
	}
}

func TestATagTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a tag registered twice")
		}
	}()
	msgtag.New(msgtag.For[ping](decodeNothing), msgtag.For[ping](decodeNothing))
}
