package protocol

import (
	"errors"
	"strings"
	"testing"
)

// TestSASComparedRefuses: a compared code the relay would hash, or a hash
// the agent would compare, is refused unless it is well formed.
func TestSASComparedRefuses(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	for name, in := range map[string]string{
		"neither":       `{"type":"sas_compared","data":{}}`,
		"no data":       `{"type":"sas_compared"}`,
		"both":          `{"type":"sas_compared","data":{"code":"123456","hash":"` + hash + `"}}`,
		"short code":    `{"type":"sas_compared","data":{"code":"12345"}}`,
		"spaced code":   `{"type":"sas_compared","data":{"code":"123 456"}}`,
		"letters":       `{"type":"sas_compared","data":{"code":"12345a"}}`,
		"signed":        `{"type":"sas_compared","data":{"code":"+12345"}}`,
		"number":        `{"type":"sas_compared","data":{"code":123456}}`,
		"short hash":    `{"type":"sas_compared","data":{"hash":"abcd"}}`,
		"not hex":       `{"type":"sas_compared","data":{"hash":"` + strings.Repeat("zz", 32) + `"}}`,
		"unknown field": `{"type":"sas_compared","data":{"code":"123456","ok":true}}`,
		"commit short":  `{"type":"sas_commit","data":{"hash":"abcd"}}`,
		"commit empty":  `{"type":"sas_commit","data":{}}`,
		"commit code":   `{"type":"sas_commit","data":{"hash":"` + hash + `","code":"123456"}}`,
	} {
		if m, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Decode = %#v, %v; want ErrMalformed", name, m, err)
		}
	}
	for _, in := range []string{`{"type":"sas_compared","data":{"code":"012345"}}`,
		`{"type":"sas_compared","data":{"hash":"` + hash + `"}}`} {
		if _, err := Decode([]byte(in)); err != nil {
			t.Errorf("Decode(%s): %v", in, err)
		}
	}
}
