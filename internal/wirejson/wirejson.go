// Package wirejson decodes the JSON that Meekijk reads from the wire (the
// signaling protocol, the data channel, quote requests, the console's API
// bodies) exactly, so that every reader sees the same message:
//
//   - object keys match field names case-sensitively ("TYPE" is not "type"),
//     and a key repeated in one object is refused, at every depth:
//     encoding/json folds "Granted" onto "granted" and keeps the last, so in
//     `"granted":true,…,"Granted":false` the relay read a refusal where a
//     browser, which matches keys exactly, reads a grant;
//   - invalid UTF-8 and lone surrogates are refused;
//   - nothing may follow the value;
//   - unknown keys are refused, unless the caller opens the decoder to them.
//
// It is encoding/json/v2 with those options set in one place, and errors
// that name the field at fault the way a request spells it
// ("contract.rates[0].note"), not as a JSON pointer.
package wirejson

import (
	"bytes"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Error is a refused input. Path names the field ("settings.defaultRates[0]
// .centsPerHour"); it is "" when the JSON itself is broken at the top.
type Error struct {
	Path   string
	Reason string
	// Syntax is set when the bytes are not JSON at all (as opposed to
	// JSON that does not fit: a wrong type, an unknown or repeated key).
	Syntax bool
	err    error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Unwrap gives the decoder's own error, for callers that need its detail.
func (e *Error) Unwrap() error { return e.err }

// Unmarshal decodes b, which must hold exactly one JSON value, into v,
// refusing unknown keys. Every error is an *Error.
func Unmarshal(b []byte, v any) error { return unmarshal(b, v, true) }

// UnmarshalOpen is Unmarshal for the few inputs that accept keys they do
// not know (a newer peer's additions); keys it knows must still match
// exactly and appear once.
func UnmarshalOpen(b []byte, v any) error { return unmarshal(b, v, false) }

func unmarshal(b []byte, v any, rejectUnknown bool) error {
	// Read the one value first (syntax, UTF-8, duplicate keys) so that
	// "nothing there" and "something after it" get errors of their own.
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	val, err := dec.ReadValue()
	if errors.Is(err, io.EOF) {
		return &Error{Reason: "no JSON value", Syntax: true, err: err}
	}
	if err != nil {
		return describe(err)
	}
	val = bytes.Clone(val) // the decoder reuses its buffer on the next read
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return &Error{Reason: "data after the JSON value", Syntax: true, err: err}
	}
	if err := jsonv2.Unmarshal(val, v, jsonv2.RejectUnknownMembers(rejectUnknown)); err != nil {
		return describe(err)
	}
	return nil
}

// Check reports whether b decodes exactly (as Unmarshal does) into a fresh
// value of like's type, leaving like alone. A decoder that keeps its own
// registry of message types uses it on the value that registry produced.
func Check(b []byte, like any) error {
	t := reflect.TypeOf(like)
	if t == nil {
		return &Error{Reason: "nothing to decode into"}
	}
	return Unmarshal(b, reflect.New(t).Interface())
}

// describe turns encoding/json/v2's errors into an *Error with a dotted
// path and a reason a person can act on.
func describe(err error) error {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		path := Path(string(syn.JSONPointer))
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return &Error{Path: path, Reason: "appears twice", err: err}
		}
		return &Error{Path: path, Reason: "not valid JSON: " + syn.Err.Error(), Syntax: true, err: err}
	}
	var sem *jsonv2.SemanticError
	if errors.As(err, &sem) {
		path := Path(string(sem.JSONPointer))
		switch {
		case errors.Is(sem.Err, jsonv2.ErrUnknownName):
			return &Error{Path: path, Reason: "unknown field (names are case-sensitive)", err: err}
		case sem.Err != nil && sem.GoType != nil && sem.JSONKind == '0' && isInteger(sem.GoType):
			return &Error{Path: path, Reason: "must be a whole number", err: err}
		case sem.Err == nil && sem.GoType != nil:
			return &Error{Path: path, Reason: fmt.Sprintf("must be a JSON %s, not %s", jsonKind(sem.GoType), sem.JSONKind), err: err}
		case sem.Err != nil:
			return &Error{Path: path, Reason: sem.Err.Error(), err: err}
		}
	}
	return &Error{Reason: strings.TrimPrefix(err.Error(), "json: "), err: err}
}

// Path turns a JSON pointer ("/contract/rates/0/note") into the dotted form
// a request's author reads ("contract.rates[0].note"). A segment of digits
// is an array index.
func Path(pointer string) string {
	if pointer == "" {
		return ""
	}
	var b strings.Builder
	for _, seg := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		if _, err := strconv.ParseUint(seg, 10, 64); err == nil {
			b.WriteString("[" + seg + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

func isInteger(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// jsonKind names what JSON value a Go type takes.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	if isInteger(t) {
		return "number"
	}
	return "value"
}
