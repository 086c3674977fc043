// Package msgtag is the registry of message type tags that the relay
// protocol (internal/protocol) and the data channel (internal/datachannel)
// both decode with: each message's tag is written once, in its Type
// method, and the registry reads it from there.
package msgtag

import (
	"encoding/json"
	"fmt"
)

// Tagged is a message that names its own type tag.
type Tagged interface{ Type() string }

// Decoder decodes one message's payload.
type Decoder[M any] func(json.RawMessage) (M, error)

// Decoders maps each type tag to its message's decoder.
type Decoders[M any] map[string]Decoder[M]

// Entry is one message's decoder under its tag.
type Entry[M any] struct {
	tag    string
	decode Decoder[M]
}

// For registers decode under the tag T's Type method gives.
func For[T Tagged, M any](decode Decoder[M]) Entry[M] {
	var zero T
	return Entry[M]{tag: zero.Type(), decode: decode}
}

// New builds the registry. A tag given twice is a programming error: it
// panics when the package initializes, not when a peer sends it.
func New[M any](entries ...Entry[M]) Decoders[M] {
	d := make(Decoders[M], len(entries))
	for _, e := range entries {
		if _, dup := d[e.tag]; dup {
			panic(fmt.Sprintf("msgtag: type tag %q registered twice", e.tag))
		}
		d[e.tag] = e.decode
	}
	return d
}
