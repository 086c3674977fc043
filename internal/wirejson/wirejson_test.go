package wirejson

import (
	"errors"
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
