package audit

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestCanonical(t *testing.T) {
	a, _ := Canonical(map[string]any{"b": 1, "a": []int{2, 3}, "c": "é<>&"})
	b, _ := Canonical(json.RawMessage(`{ "c":"é<>&", "a":[2,3],"b":1 }`))
	want := `{"a":[2,3],"b":1,"c":"é<>&"}`
	if string(a) != want || string(b) != want {
		t.Fatalf("canonical forms %s and %s, want %s", a, b, want)
	}
	// Documented in docs/audit.md: the one escape beyond JSON's minimum.
	sep, _ := Canonical(map[string]string{"h": "a\u2028b"})
	if string(sep) != `{"h":"a\u2028b"}` {
		t.Errorf("line separator: %s", sep)
	}
	big, _ := Canonical(json.RawMessage(`{"n":12345678901234567890}`))
	if string(big) != `{"n":12345678901234567890}` {
		t.Errorf("large number changed: %s", big)
	}
}

func chain(t *testing.T, n int) []Entry {
	t.Helper()
	prev := Genesis
	var out []Entry
	for i := 1; i <= n; i++ {
		p, _ := Canonical(map[string]any{"i": i})
		e := Entry{Seq: int64(i), At: int64(1000 * i), Actor: "technician:1", IP: "127.0.0.1", Event: "test", Payload: p}
		h, err := ChainHash(prev, e)
		if err != nil {
			t.Fatal(err)
		}
		e.Hash, prev = h, h
		out = append(out, e)
	}
	return out
}

func verify(entries []Entry) error {
	v := NewVerifier()
	for _, e := range entries {
		if err := v.Add(e); err != nil {
			return err
		}
	}
	return nil
}

func TestVerifierFindsTheFirstBadEntry(t *testing.T) {
	cases := []struct {
		name   string
		tamper func([]Entry) []Entry
		bad    int64
	}{
		{"untouched", func(e []Entry) []Entry { return e }, 0},
		{"payload edited", func(e []Entry) []Entry { e[2].Payload = json.RawMessage(`{"i":99}`); return e }, 3},
		{"actor edited", func(e []Entry) []Entry { e[4].Actor = "admin:1"; return e }, 5},
		{"row deleted", func(e []Entry) []Entry { return append(e[:3:3], e[4:]...) }, 4},
		{"two rows swapped", func(e []Entry) []Entry { e[1], e[2] = e[2], e[1]; return e }, 2},
		{"forged row inserted", func(e []Entry) []Entry {
			forged := e[2]
			forged.Event = "forged"
			return append(e[:3:3], append([]Entry{forged}, e[3:]...)...)
		}, 4},
		{"seq renumbered after a deletion", func(e []Entry) []Entry {
			e = append(e[:3:3], e[4:]...)
			for i := range e {
				e[i].Seq = int64(i + 1)
			}
			return e
		}, 4},
	}
	for _, c := range cases {
		err := verify(c.tamper(chain(t, 8)))
		var be *BrokenError
		switch {
		case c.bad == 0 && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.bad != 0 && (!errors.As(err, &be) || be.Seq != c.bad || !errors.Is(err, ErrBroken)):
			t.Errorf("%s: %v, want broken at seq %d", c.name, err, c.bad)
		}
	}
}

func FuzzCanonicalIsStable(f *testing.F) {
	f.Add([]byte(`{"b":1,"a":{"d":[1,2],"c":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		once, err := Canonical(json.RawMessage(b))
		if err != nil {
			return
		}
		twice, err := Canonical(json.RawMessage(once))
		if err != nil || string(once) != string(twice) {
			t.Fatalf("not stable: %s -> %s (%v)", once, twice, err)
		}
	})
}
