package datachannel

import (
	"bytes"
	"errors"
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const helloSHA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

// valid holds one or more valid values of every message type, including
// values at the edges of their limits.
func valid() []Message {
	return []Message{
		Pointer{Action: ActionMove, X: 640.5, Y: 360, VideoWidth: 1280, VideoHeight: 720},
		Pointer{Action: ActionMove, X: 1280, Y: 720, VideoWidth: 1280, VideoHeight: 720},
		Pointer{Action: ActionDown, X: 0, Y: 0, Button: ButtonLeft, VideoWidth: 1, VideoHeight: 1},
		Pointer{Action: ActionUp, X: 3, Y: 4, Button: ButtonRight, VideoWidth: MaxVideoSize, VideoHeight: MaxVideoSize},
		Pointer{Action: ActionDown, X: 3, Y: 4, Button: ButtonMiddle, VideoWidth: 800, VideoHeight: 600},
		Pointer{Action: ActionWheel, X: 10, Y: 20, DeltaX: -3.5, DeltaY: MaxWheelDelta, VideoWidth: 1280, VideoHeight: 720},
		Key{Action: ActionDown, Code: "KeyA", Key: "a"},
		Key{Action: ActionDown, Code: "Digit2", Key: "é"},
		Key{Action: ActionDown, Code: "KeyE", Key: "€", Ctrl: true, Alt: true},
		Key{Action: ActionUp, Code: "KeyC", Key: "c", Shift: true, Ctrl: true, Alt: true, Meta: true},
		Key{Action: ActionDown, Code: "F24", Key: "F24"},
		Key{Action: ActionDown, Code: "", Key: "ç"},
		Key{Action: ActionDown, Code: "IntlBackslash", Key: ""},
		Key{Action: ActionDown, Code: strings.Repeat("A", MaxCodeBytes), Key: strings.Repeat("x", MaxKeyBytes)},
		Text{Text: "日本語"},
		Text{Text: strings.Repeat("é", MaxTextRunes)},
		ReleaseAll{},
		ClipboardRequest{},
		Clipboard{Text: ""},
		Clipboard{Text: "BE0123.456.789\r\n\ttab <b>&amp;</b>"},
		Clipboard{Text: strings.Repeat("x", MaxClipboardBytes)},
		FileOffer{ID: "f-1", Name: "factuur 2026-001.pdf", Size: 5, SHA256: helloSHA},
		FileOffer{ID: strings.Repeat("a", MaxIDBytes), Name: "../../etc/x", Size: MaxFileSize},
		FileOffer{ID: "0", Name: "empty", Size: 0},
		FileAccept{ID: "f-1"},
		FileDecline{ID: "f-1"},
		FileChunk{ID: "f-1", Offset: 0, Data: []byte("hello")},
		FileChunk{ID: "f-1", Offset: MaxFileSize - MaxChunkBytes, Data: bytes.Repeat([]byte{0xff}, MaxChunkBytes)},
		FileDone{ID: "f-1", SHA256: helloSHA},
		FileCancel{ID: "f-1", Reason: "customer cancelled"},
		FileCancel{ID: "f-1"},
		FileProgress{ID: "f-1", Bytes: 5},
		Screens{List: []Screen{{Index: 0, Name: "Built-in", Width: 1920, Height: 1080, Primary: true}, {Index: 1, Name: "DELL", Width: 3840, Height: 2160}}},
		Screens{List: []Screen{{Index: 3, Width: 1, Height: 1}}},
		ScreenSwitchRequest{Index: 0},
		ScreenSwitchRequest{Index: MaxScreens - 1},
		Desktop{Capture: "gdi"},
		Desktop{Capture: "dxgi", Secure: true},
		Desktop{Capture: "gdi", ScreenGone: true},
	}
}

func TestRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range valid() {
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("encode %T: %v", m, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %.200s: %v", b, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip %T: got %#v, want %#v", m, got, m)
		}
		seen[m.Type()] = true
	}
	for typ := range decoders {
		if !seen[typ] {
			t.Errorf("type %q has no round-trip case", typ)
		}
	}
}

// The largest legal chunk must fit its own limit with the longest id and
// offset: otherwise a sender following the rules would be refused.
func TestLargestChunkFits(t *testing.T) {
	m := FileChunk{ID: strings.Repeat("x", MaxIDBytes), Offset: MaxFileSize - MaxChunkBytes, Data: make([]byte, MaxChunkBytes)}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= MaxMessageBytes {
		t.Errorf("a full chunk is %d bytes; MaxChunkMessageBytes is then pointless", len(b))
	}
	t.Logf("largest chunk message: %d bytes (limit %d)", len(b), MaxChunkMessageBytes)
}

// Clipboard text at its limit must fit even when every byte needs escaping
// to two; text escaping beyond the frame limit is refused by both sides.
func TestClipboardEscaping(t *testing.T) {
	b, err := Encode(Clipboard{Text: strings.Repeat(`"`, MaxClipboardBytes)})
	if err != nil {
		t.Fatalf("100 KiB of quotes: %v", err)
	}
	if _, err := Decode(b); err != nil {
		t.Fatalf("decode 100 KiB of quotes: %v", err)
	}
	// \x01 escapes to \u0001: six bytes each.
	if _, err := Encode(Clipboard{Text: strings.Repeat("\x01", MaxClipboardBytes)}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("600 KiB once escaped: err = %v, want ErrMalformed", err)
	}
	// HTML is not escaped: "<" stays one byte.
	b, err = Encode(Clipboard{Text: "<a&b>"})
	if err != nil || !bytes.Contains(b, []byte("<a&b>")) {
		t.Fatalf("Encode = %s, %v; want HTML unescaped", b, err)
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	bad := []Message{
		nil,
		Pointer{Action: "click", VideoWidth: 1, VideoHeight: 1},
		Pointer{Action: ActionMove, X: math.NaN(), VideoWidth: 1, VideoHeight: 1},
		Pointer{Action: ActionMove, X: math.Inf(1), VideoWidth: 1, VideoHeight: 1},
		Key{Action: ActionDown},
		Text{},
		Clipboard{Text: "a\x00b"},
		FileOffer{ID: "a/b", Name: "x", Size: 1},
		FileChunk{ID: "a", Data: nil},
		FileDone{ID: "a", SHA256: strings.ToUpper(helloSHA)},
		Screens{},
	}
	for _, m := range bad {
		if b, err := Encode(m); !errors.Is(err, ErrMalformed) {
			t.Errorf("Encode(%#v) = %s, %v; want ErrMalformed", m, b, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	const vid = `"videoWidth":1280,"videoHeight":720`
	big := strings.Repeat("a", MaxMessageBytes)
	cases := map[string]string{
		// Envelope.
		"empty":             ``,
		"not json":          `hello`,
		"array":             `[1,2]`,
		"null":              `null`,
		"unknown type":      `{"type":"shutdown","data":{}}`,
		"missing type":      `{"data":{"text":"x"}}`,
		"unknown top field": `{"type":"release_all","data":{},"x":1}`,
		"unknown field":     `{"type":"text","data":{"text":"x","admin":true}}`,
		"wrong field type":  `{"type":"text","data":{"text":1}}`,
		"data not object":   `{"type":"text","data":"x"}`,
		"trailing object":   `{"type":"release_all","data":{}}{}`,
		"trailing brace":    `{"type":"release_all","data":{}}}`,
		"trailing bracket":  `{"type":"release_all","data":{}}]`,
		"trailing in data":  `{"type":"text","data":{"text":"x"}}x`,
		"oversized":         `{"type":"text","data":{"text":"` + big + `"}}`,
		"oversized frame":   `{"type":"clipboard","data":{"text":"` + strings.Repeat("a", MaxFrameBytes) + `"}}`,
		"chunk-size text":   `{"type":"text","data":{"text":"` + strings.Repeat("a", MaxMessageBytes) + `"}}`,
		// pointer
		"pointer bad action":    `{"type":"pointer","data":{"action":"click","x":1,"y":1,` + vid + `}}`,
		"pointer no action":     `{"type":"pointer","data":{"x":1,"y":1,` + vid + `}}`,
		"pointer x negative":    `{"type":"pointer","data":{"action":"move","x":-0.5,"y":1,` + vid + `}}`,
		"pointer x beyond":      `{"type":"pointer","data":{"action":"move","x":1280.01,"y":1,` + vid + `}}`,
		"pointer y beyond":      `{"type":"pointer","data":{"action":"move","x":1,"y":721,` + vid + `}}`,
		"pointer x huge":        `{"type":"pointer","data":{"action":"move","x":1e400,"y":1,` + vid + `}}`,
		"pointer x string":      `{"type":"pointer","data":{"action":"move","x":"NaN","y":1,` + vid + `}}`,
		"pointer x NaN literal": `{"type":"pointer","data":{"action":"move","x":NaN,"y":1,` + vid + `}}`,
		"pointer no video":      `{"type":"pointer","data":{"action":"move","x":0,"y":0}}`,
		"pointer video 0":       `{"type":"pointer","data":{"action":"move","x":0,"y":0,"videoWidth":0,"videoHeight":720}}`,
		"pointer video huge":    `{"type":"pointer","data":{"action":"move","x":0,"y":0,"videoWidth":16385,"videoHeight":720}}`,
		"pointer video float":   `{"type":"pointer","data":{"action":"move","x":0,"y":0,"videoWidth":1280.5,"videoHeight":720}}`,
		"pointer bad button":    `{"type":"pointer","data":{"action":"down","x":1,"y":1,"button":"back",` + vid + `}}`,
		"pointer down no btn":   `{"type":"pointer","data":{"action":"down","x":1,"y":1,` + vid + `}}`,
		"pointer move with btn": `{"type":"pointer","data":{"action":"move","x":1,"y":1,"button":"left",` + vid + `}}`,
		"pointer delta on move": `{"type":"pointer","data":{"action":"move","x":1,"y":1,"deltaY":3,` + vid + `}}`,
		"pointer delta huge":    `{"type":"pointer","data":{"action":"wheel","x":1,"y":1,"deltaY":10001,` + vid + `}}`,
		"pointer button case":   `{"type":"pointer","data":{"action":"down","x":1,"y":1,"button":"Left",` + vid + `}}`,
		// key
		"key bad action":   `{"type":"key","data":{"action":"press","code":"KeyA","key":"a"}}`,
		"key nothing":      `{"type":"key","data":{"action":"down","code":"","key":""}}`,
		"key code symbol":  `{"type":"key","data":{"action":"down","code":"Key_A","key":"a"}}`,
		"key code unicode": `{"type":"key","data":{"action":"down","code":"Kéy","key":"a"}}`,
		"key code long":    `{"type":"key","data":{"action":"down","code":"` + strings.Repeat("A", 33) + `","key":"a"}}`,
		"key key long":     `{"type":"key","data":{"action":"down","code":"KeyA","key":"` + strings.Repeat("a", 33) + `"}}`,
		"key key control":  `{"type":"key","data":{"action":"down","code":"Enter","key":"\n"}}`,
		"key shift string": `{"type":"key","data":{"action":"down","code":"KeyA","key":"a","shift":"yes"}}`,
		// text
		"text empty":   `{"type":"text","data":{"text":""}}`,
		"text missing": `{"type":"text","data":{}}`,
		"text newline": `{"type":"text","data":{"text":"a\nb"}}`,
		"text escape":  `{"type":"text","data":{"text":"\u001b[2J"}}`,
		"text long":    `{"type":"text","data":{"text":"` + strings.Repeat("é", MaxTextRunes+1) + `"}}`,
		// release_all
		"release_all field": `{"type":"release_all","data":{"keys":["a"]}}`,
		// clipboard
		"clipboard NUL":  `{"type":"clipboard","data":{"text":"a\u0000b"}}`,
		"clipboard long": `{"type":"clipboard","data":{"text":"` + strings.Repeat("a", MaxClipboardBytes+1) + `"}}`,
		// files
		"offer no id":        `{"type":"file_offer","data":{"name":"a","size":1}}`,
		"offer id slash":     `{"type":"file_offer","data":{"id":"../x","name":"a","size":1}}`,
		"offer id space":     `{"type":"file_offer","data":{"id":"a b","name":"a","size":1}}`,
		"offer id long":      `{"type":"file_offer","data":{"id":"` + strings.Repeat("a", 65) + `","name":"a","size":1}}`,
		"offer no name":      `{"type":"file_offer","data":{"id":"a","name":"","size":1}}`,
		"offer name long":    `{"type":"file_offer","data":{"id":"a","name":"` + strings.Repeat("a", MaxFileNameBytes+1) + `","size":1}}`,
		"offer size neg":     `{"type":"file_offer","data":{"id":"a","name":"a","size":-1}}`,
		"offer size huge":    `{"type":"file_offer","data":{"id":"a","name":"a","size":1099511627777}}`,
		"offer sha short":    `{"type":"file_offer","data":{"id":"a","name":"a","size":1,"sha256":"abc"}}`,
		"offer sha upper":    `{"type":"file_offer","data":{"id":"a","name":"a","size":1,"sha256":"` + strings.ToUpper(helloSHA) + `"}}`,
		"accept no id":       `{"type":"file_accept","data":{}}`,
		"decline bad id":     `{"type":"file_decline","data":{"id":"é"}}`,
		"chunk empty":        `{"type":"file_chunk","data":{"id":"a","offset":0,"data":""}}`,
		"chunk null":         `{"type":"file_chunk","data":{"id":"a","offset":0,"data":null}}`,
		"chunk not base64":   `{"type":"file_chunk","data":{"id":"a","offset":0,"data":"!!!"}}`,
		"chunk offset neg":   `{"type":"file_chunk","data":{"id":"a","offset":-1,"data":"aGVsbG8="}}`,
		"chunk past max":     `{"type":"file_chunk","data":{"id":"a","offset":1099511627775,"data":"aGVsbG8="}}`,
		"chunk too big":      `{"type":"file_chunk","data":{"id":"a","offset":0,"data":"` + strings.Repeat("AAAA", MaxChunkBytes/3+1) + `"}}`,
		"chunk frame big":    `{"type":"file_chunk","data":{"id":"a","offset":0,"data":"aGVsbG8="}}` + strings.Repeat(" ", MaxChunkMessageBytes),
		"done no sha":        `{"type":"file_done","data":{"id":"a"}}`,
		"done bad sha":       `{"type":"file_done","data":{"id":"a","sha256":"` + strings.Repeat("g", 64) + `"}}`,
		"cancel long reason": `{"type":"file_cancel","data":{"id":"a","reason":"` + strings.Repeat("r", MaxReasonBytes+1) + `"}}`,
		"cancel ctl reason":  `{"type":"file_cancel","data":{"id":"a","reason":"a\rb"}}`,
		"progress neg":       `{"type":"file_progress","data":{"id":"a","bytes":-1}}`,
		// screens
		"screens empty":       `{"type":"screens","data":{"list":[]}}`,
		"screens null":        `{"type":"screens","data":{"list":null}}`,
		"screens dup index":   `{"type":"screens","data":{"list":[{"index":0,"width":1,"height":1},{"index":0,"width":1,"height":1}]}}`,
		"screens neg index":   `{"type":"screens","data":{"list":[{"index":-1,"width":1,"height":1}]}}`,
		"screens big index":   `{"type":"screens","data":{"list":[{"index":16,"width":1,"height":1}]}}`,
		"screens zero size":   `{"type":"screens","data":{"list":[{"index":0,"width":0,"height":1}]}}`,
		"screens two primary": `{"type":"screens","data":{"list":[{"index":0,"width":1,"height":1,"primary":true},{"index":1,"width":1,"height":1,"primary":true}]}}`,
		"screens name ctl":    `{"type":"screens","data":{"list":[{"index":0,"name":"a\u202eb\u0000","width":1,"height":1}]}}`,
		"screens extra field": `{"type":"screens","data":{"list":[{"index":0,"width":1,"height":1,"x":0}]}}`,
		// desktop
		"desktop no method":   `{"type":"desktop","data":{"capture":""}}`,
		"desktop odd method":  `{"type":"desktop","data":{"capture":"<b>gdi</b>"}}`,
		"desktop long method": `{"type":"desktop","data":{"capture":"` + strings.Repeat("a", 33) + `"}}`,
		"switch neg":          `{"type":"screen_switch_request","data":{"index":-1}}`,
		"switch big":          `{"type":"screen_switch_request","data":{"index":16}}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if m, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%.80q) = %#v, %v; want ErrMalformed", in, m, err)
			}
		})
	}
}

// docExamples returns the JSON examples in the package comment: lines of
// doc.go that are an indented {"type" ... }.
func docExamples(t testing.TB) []string {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^//\t(\{"type".*)$`).FindAllStringSubmatch(string(doc), -1) {
		out = append(out, m[1])
	}
	return out
}

// The package comment must show a decodable example of every message, so
// the documentation cannot drift from the code.
func TestDocExamples(t *testing.T) {
	seen := map[string]bool{}
	for _, ex := range docExamples(t) {
		m, err := Decode([]byte(ex))
		if err != nil {
			t.Errorf("doc.go example does not decode: %v\n%s", err, ex)
			continue
		}
		seen[m.Type()] = true
	}
	for typ := range decoders {
		if !seen[typ] {
			t.Errorf("doc.go has no example of %q", typ)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, ex := range docExamples(f) {
		f.Add([]byte(ex))
	}
	for _, m := range valid() {
		b, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 4096 { // keep the seed corpus quick to mutate
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"file_chunk","data":{"id":"a","offset":0,"data":"aGVs\nbG8="}}`))
	f.Add([]byte(`{"TYPE":"text","data":{"TEXT":"x","text":"y"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Whatever decodes must encode and decode to the same value.
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("encode after decode of %q: %v", b, err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decode %s: %v", enc, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("unstable: %#v vs %#v", m, again)
		}
		enc2, err := Encode(again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding unstable: %s vs %s (%v)", enc, enc2, err)
		}
	})
}
