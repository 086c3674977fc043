package wirejson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

type rate struct {
	CentsPerHour int64  `json:"centsPerHour"`
	Note         string `json:"note"`
}

type request struct {
	Contract *struct {
		Rates []rate `json:"rates"`
	} `json:"contract"`
	Names map[string]string `json:"names"`
}

// TestErrorsNameTheField: every refusal names the field the way the
// request spells it, nested ones included.
func TestErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"contract":{"rates":[{"note":1}]}}`, "contract.rates[0].note: must be a JSON string, not number"},
		{`{"contract":{"rates":[{},{"centsPerHour":85.5}]}}`, "contract.rates[1].centsPerHour: must be a whole number"},
		{`{"contract":{"rates":[{"Note":"x"}]}}`, "contract.rates[0].Note: unknown field (names are case-sensitive)"},
		{`{"names":{"nl":"a","nl":"b"}}`, "names.nl: appears twice"},
		{`{"contract":null,"contract":null}`, "contract: appears twice"},
		{`{} {}`, "data after the JSON value"},
		{` `, "no JSON value"},
		{`{"names":`, "names: not valid JSON: unexpected EOF"},
	} {
		var r request
		err := Unmarshal([]byte(tc.in), &r)
		var we *Error
		if !errors.As(err, &we) || err.Error() != tc.want {
			t.Errorf("Unmarshal(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
	var r request
	if err := UnmarshalOpen([]byte(`{"later":1,"names":{}}`), &r); err != nil || r.Names == nil {
		t.Errorf("UnmarshalOpen with an unknown key: %v, names %#v", err, r.Names)
	}
	if err := Check([]byte(`{"names":{"a":"b"}}`), r); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestPath(t *testing.T) {
	for ptr, want := range map[string]string{
		"":                           "",
		"/settings/minimumMinutes":   "settings.minimumMinutes",
		"/sessions/2/segments/0/end": "sessions[2].segments[0].end",
		"/a~1b/c~0d":                 "a/b.c~d",
	} {
		if got := Path(ptr); got != want {
			t.Errorf("Path(%q) = %q, want %q", ptr, got, want)
		}
	}
}

// body is shaped like the console's API bodies: scalars, a pointer, a
// list of objects and a map.
type body struct {
	Title      string            `json:"title"`
	CustomerID int64             `json:"customerId"`
	Estimate   *int              `json:"estimate"`
	Rates      []rate            `json:"rates"`
	Names      map[string]string `json:"names"`
	Lenient    json.RawMessage   `json:"lenient"`
}

// FuzzUnmarshal: whatever Unmarshal accepts, encoding/json (the reader
// the rest of the code and older peers use) reads to the same value, and
// its keys are exactly the field names, each once; whatever it refuses is
// an *Error. So no input means one thing here and another there.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"title":"Printer","customerId":1,"estimate":30,"rates":[{"centsPerHour":8500,"note":"n"}],"names":{"nl":"a"},"lenient":{"x":[1]}}`,
		`{"title":"a","title":"b"}`, `{"Title":"a"}`, `{"names":{"a":"1","a":"2"}}`, `{"estimate":null}`, `{} x`, `"\ud800"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var exact body
		err := Unmarshal(b, &exact)
		if err != nil {
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		var loose body
		if err := json.Unmarshal(b, &loose); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", b, err)
		}
		if !reflect.DeepEqual(exact.normal(), loose.normal()) {
			t.Fatalf("%q reads as %#v here and %#v in encoding/json", b, exact, loose)
		}
	})
}

// normal compacts the raw field, which the two decoders may keep with
// different white space.
func (b body) normal() body {
	if b.Lenient != nil {
		var buf bytes.Buffer
		if json.Compact(&buf, b.Lenient) == nil {
			b.Lenient = buf.Bytes()
		}
	}
	return b
}
