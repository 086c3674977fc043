package datachannel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/meekijk/meekijk/internal/msgtag"
	"github.com/meekijk/meekijk/internal/wirejson"
)

// Size limits. They are part of the protocol: both sides refuse what exceeds
// them, so a console and an agent of the same version always agree.
const (
	// MaxMessageBytes bounds one encoded message of every type except
	// file_chunk and clipboard. Input events are a few hundred
	// bytes; anything near this is a bug or an attack.
	MaxMessageBytes = 64 << 10

	// MaxChunkBytes bounds the payload of one file_chunk. 48 KiB encodes to
	// exactly 64 KiB of base64, which keeps a chunk far below every
	// browser's data-channel message limit (Chrome: 256 KiB).
	MaxChunkBytes = 48 << 10
	// MaxChunkMessageBytes bounds an encoded file_chunk: the base64 payload
	// plus 1 KiB for the envelope, id and offset.
	MaxChunkMessageBytes = MaxMessageBytes + 1<<10

	// MaxClipboardBytes bounds clipboard text (UTF-8 bytes, before JSON).
	MaxClipboardBytes = 100 << 10
	// MaxClipboardMessageBytes bounds an encoded clipboard message. JSON
	// escaping can double text full of quotes or backslashes, so 100 KiB of
	// text needs more than 64 KiB on the wire; text that escapes to more
	// than this is refused by Encode and Decode alike.
	MaxClipboardMessageBytes = 256 << 10

	// MaxFrameBytes is the largest message of any type: what the receiver
	// should allow the data channel to deliver, and no more.
	MaxFrameBytes = MaxClipboardMessageBytes
)

// Value limits.
const (
	// MaxVideoSize bounds videoWidth and videoHeight (and screen sizes):
	// 16384 is above any real display and what H.264 levels allow.
	MaxVideoSize = 16384
	// MaxWheelDelta bounds |deltaX| and |deltaY| of one wheel event, in
	// pixels: a page of scrolling is about 1000.
	MaxWheelDelta = 10000
	// MaxKeyBytes bounds KeyboardEvent.key: the longest named key value
	// ("AudioVolumeDown", "BrightnessDown"…) is well below it.
	MaxKeyBytes = 32
	// MaxCodeBytes bounds KeyboardEvent.code.
	MaxCodeBytes = 32
	// MaxTextRunes bounds a text (IME) message: a composition is a few
	// characters; longer text belongs on the clipboard.
	MaxTextRunes = 1000
	// MaxFileSize bounds a file's size and every offset into it (1 TiB).
	MaxFileSize = 1 << 40
	// MaxFileNameBytes bounds the name in a file_offer. The receiver
	// sanitizes and shortens it anyway; this only bounds the message.
	MaxFileNameBytes = 1024
	// MaxIDBytes bounds a file transfer id.
	MaxIDBytes = 64
	// MaxReasonBytes bounds file_cancel's reason.
	MaxReasonBytes = 256
	// MaxScreens bounds the screens list and screen indexes.
	MaxScreens = 16
	// MaxScreenNameBytes bounds a screen's display name.
	MaxScreenNameBytes = 128
)

// Message is implemented by every payload type. The unexported validate
// method closes the set: only the types below can be encoded.
type Message interface {
	// Type is the envelope's type tag.
	Type() string
	validate() error
}

// Pointer actions.
const (
	ActionMove  = "move"
	ActionDown  = "down"
	ActionUp    = "up"
	ActionWheel = "wheel"
)

// Mouse buttons.
const (
	ButtonLeft   = "left"
	ButtonMiddle = "middle"
	ButtonRight  = "right"
)

// Pointer is a mouse event from the console, in video pixel coordinates:
// 0 <= X <= VideoWidth, 0 <= Y <= VideoHeight. Sending the video size with
// every event (rather than once) means a resolution change can never make
// the agent scale with a stale size.
type Pointer struct {
	Action string  `json:"action"`
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	// Button is set for down and up, and empty otherwise.
	Button string `json:"button,omitempty"`
	// DeltaX and DeltaY are set for wheel only, in pixels; positive
	// DeltaY scrolls down, positive DeltaX right (as in the DOM).
	DeltaX      float64 `json:"deltaX,omitempty"`
	DeltaY      float64 `json:"deltaY,omitempty"`
	VideoWidth  int     `json:"videoWidth"`
	VideoHeight int     `json:"videoHeight"`
}

// Key is a keyboard event from the console. Code is KeyboardEvent.code (the
// physical key on the technician's keyboard: "KeyA", "Enter", "F5"), Key is
// KeyboardEvent.key (what the technician's layout made of it: "a", "é", "€",
// "Enter"). At least one of them is set.
type Key struct {
	// Action is ActionDown or ActionUp. A repeated keydown (auto-repeat)
	// is sent as another down.
	Action string `json:"action"`
	Code   string `json:"code"`
	Key    string `json:"key"`
	Shift  bool   `json:"shift,omitempty"`
	Ctrl   bool   `json:"ctrl,omitempty"`
	Alt    bool   `json:"alt,omitempty"`
	Meta   bool   `json:"meta,omitempty"`
}

// Text is text to type as is: what an IME or a compose sequence produced.
type Text struct {
	Text string `json:"text"`
}

// ReleaseAll asks the agent to release every key and button it holds.
type ReleaseAll struct{}

// ClipboardRequest asks the agent for the customer's clipboard text; the
// agent answers with a Clipboard message while control is granted, and not
// at all otherwise.
type ClipboardRequest struct{}

// Clipboard is clipboard text, either way. Empty text is allowed (an empty
// clipboard).
type Clipboard struct {
	Text string `json:"text"`
}

// FileOffer announces a file. SHA256, when set, must match the one in
// FileDone.
type FileOffer struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// FileAccept tells the sender to start sending.
type FileAccept struct {
	ID string `json:"id"`
}

// FileDecline tells the sender the file is not wanted.
type FileDecline struct {
	ID string `json:"id"`
}

// FileChunk carries the bytes at Offset; chunks come in order and without
// gaps, so Offset always equals the bytes sent before. Data is 1 to
// MaxChunkBytes bytes, base64 in JSON.
type FileChunk struct {
	ID     string `json:"id"`
	Offset int64  `json:"offset"`
	Data   []byte `json:"data"`
}

// FileDone ends a transfer with the SHA-256 of the whole file.
type FileDone struct {
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
}

// FileCancel aborts a transfer, from either side.
type FileCancel struct {
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// FileProgress reports how many bytes the receiver has written.
type FileProgress struct {
	ID    string `json:"id"`
	Bytes int64  `json:"bytes"`
}

// Screen describes one of the customer's screens.
type Screen struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Primary bool   `json:"primary,omitempty"`
}

// Screens lists the customer's screens.
type Screens struct {
	List []Screen `json:"list"`
}

// Desktop tells the console how the agent captures the screen (Capture:
// "x11-shm", "screenshot", "dxgi" or "gdi", from agent/capture) and
// whether the customer's screen shows a desktop the agent can neither see
// nor control (Secure: a Windows UAC prompt or the Ctrl+Alt+Del screen),
// so the technician reads why the picture froze. Sent when the channel
// opens and whenever either changes.
//
// ScreenGone says the shared screen was disconnected (a monitor unplugged):
// the picture stays as it was until the customer picks another screen.
type Desktop struct {
	Capture    string `json:"capture"`
	Secure     bool   `json:"secure,omitempty"`
	ScreenGone bool   `json:"screenGone,omitempty"`
}

// maxCaptureBytes bounds Desktop.Capture, a short method name.
const maxCaptureBytes = 32

// ScreenSwitchRequest asks the agent to share another screen.
type ScreenSwitchRequest struct {
	Index int `json:"index"`
}

func (Pointer) Type() string             { return "pointer" }
func (Key) Type() string                 { return "key" }
func (Text) Type() string                { return "text" }
func (ReleaseAll) Type() string          { return "release_all" }
func (ClipboardRequest) Type() string    { return "clipboard_request" }
func (Clipboard) Type() string           { return "clipboard" }
func (FileOffer) Type() string           { return "file_offer" }
func (FileAccept) Type() string          { return "file_accept" }
func (FileDecline) Type() string         { return "file_decline" }
func (FileChunk) Type() string           { return "file_chunk" }
func (FileDone) Type() string            { return "file_done" }
func (FileCancel) Type() string          { return "file_cancel" }
func (FileProgress) Type() string        { return "file_progress" }
func (Screens) Type() string             { return "screens" }
func (ScreenSwitchRequest) Type() string { return "screen_switch_request" }
func (Desktop) Type() string             { return "desktop" }

func (p Pointer) validate() error {
	if p.VideoWidth < 1 || p.VideoWidth > MaxVideoSize || p.VideoHeight < 1 || p.VideoHeight > MaxVideoSize {
		return fmt.Errorf("video size %dx%d outside 1..%d", p.VideoWidth, p.VideoHeight, MaxVideoSize)
	}
	// NaN fails every comparison, so test "inside" rather than "outside".
	if !(p.X >= 0 && p.X <= float64(p.VideoWidth)) || !(p.Y >= 0 && p.Y <= float64(p.VideoHeight)) {
		return fmt.Errorf("position (%v,%v) outside the %dx%d video", p.X, p.Y, p.VideoWidth, p.VideoHeight)
	}
	if !(math.Abs(p.DeltaX) <= MaxWheelDelta) || !(math.Abs(p.DeltaY) <= MaxWheelDelta) {
		return fmt.Errorf("wheel delta (%v,%v) not finite or beyond %d", p.DeltaX, p.DeltaY, MaxWheelDelta)
	}
	switch p.Action {
	case ActionDown, ActionUp:
		switch p.Button {
		case ButtonLeft, ButtonMiddle, ButtonRight:
		default:
			return fmt.Errorf("unknown button %q", p.Button)
		}
	case ActionMove, ActionWheel:
		if p.Button != "" {
			return fmt.Errorf("button on %s", p.Action)
		}
	default:
		return fmt.Errorf("unknown pointer action %q", p.Action)
	}
	if p.Action != ActionWheel && (p.DeltaX != 0 || p.DeltaY != 0) {
		return fmt.Errorf("wheel delta on %s", p.Action)
	}
	return nil
}

func (k Key) validate() error {
	if k.Action != ActionDown && k.Action != ActionUp {
		return fmt.Errorf("unknown key action %q", k.Action)
	}
	if len(k.Code) > MaxCodeBytes {
		return fmt.Errorf("code longer than %d bytes", MaxCodeBytes)
	}
	for i := 0; i < len(k.Code); i++ {
		if !isASCIIAlnum(k.Code[i]) {
			return fmt.Errorf("code %q: only ASCII letters and digits", k.Code)
		}
	}
	if len(k.Key) > MaxKeyBytes {
		return fmt.Errorf("key longer than %d bytes", MaxKeyBytes)
	}
	if err := checkText(k.Key, false); err != nil {
		return fmt.Errorf("key: %v", err)
	}
	if k.Code == "" && k.Key == "" {
		return errors.New("neither code nor key")
	}
	return nil
}

func (t Text) validate() error {
	if t.Text == "" {
		return errors.New("empty text")
	}
	if n := utf8.RuneCountInString(t.Text); n > MaxTextRunes {
		return fmt.Errorf("text of %d characters exceeds %d", n, MaxTextRunes)
	}
	// No newlines or tabs: Enter and Tab are keys, sent as key events, so
	// that a text message can never submit a form behind the customer's back.
	return checkText(t.Text, false)
}

func (ReleaseAll) validate() error { return nil }

func (ClipboardRequest) validate() error { return nil }

func (c Clipboard) validate() error {
	if len(c.Text) > MaxClipboardBytes {
		return fmt.Errorf("clipboard of %d bytes exceeds %d", len(c.Text), MaxClipboardBytes)
	}
	if !utf8.ValidString(c.Text) {
		return errors.New("clipboard is not UTF-8")
	}
	// Clipboard text may hold any control characters (\r\n, \t, form
	// feeds from old reports) except NUL, which the OS clipboard APIs
	// treat as the end of the text.
	if strings.IndexByte(c.Text, 0) >= 0 {
		return errors.New("NUL in clipboard text")
	}
	return nil
}

func (f FileOffer) validate() error {
	if err := checkID(f.ID); err != nil {
		return err
	}
	if f.Name == "" || len(f.Name) > MaxFileNameBytes {
		return fmt.Errorf("name of %d bytes outside 1..%d", len(f.Name), MaxFileNameBytes)
	}
	if !utf8.ValidString(f.Name) {
		return errors.New("name is not UTF-8")
	}
	// Control characters and the like are the receiver's to clean up
	// (agent/files.SanitizeName): the name is the sender's, not ours.
	if f.Size < 0 || f.Size > MaxFileSize {
		return fmt.Errorf("size %d outside 0..%d", f.Size, int64(MaxFileSize))
	}
	if f.SHA256 != "" {
		return checkSHA256(f.SHA256)
	}
	return nil
}

func (f FileAccept) validate() error  { return checkID(f.ID) }
func (f FileDecline) validate() error { return checkID(f.ID) }

func (f FileChunk) validate() error {
	if err := checkID(f.ID); err != nil {
		return err
	}
	if len(f.Data) == 0 || len(f.Data) > MaxChunkBytes {
		return fmt.Errorf("chunk of %d bytes outside 1..%d", len(f.Data), MaxChunkBytes)
	}
	if f.Offset < 0 || f.Offset > MaxFileSize-int64(len(f.Data)) {
		return fmt.Errorf("chunk at %d+%d beyond %d", f.Offset, len(f.Data), int64(MaxFileSize))
	}
	return nil
}

func (f FileDone) validate() error {
	if err := checkID(f.ID); err != nil {
		return err
	}
	return checkSHA256(f.SHA256)
}

func (f FileCancel) validate() error {
	if err := checkID(f.ID); err != nil {
		return err
	}
	if len(f.Reason) > MaxReasonBytes {
		return fmt.Errorf("reason longer than %d bytes", MaxReasonBytes)
	}
	return checkText(f.Reason, false)
}

func (f FileProgress) validate() error {
	if err := checkID(f.ID); err != nil {
		return err
	}
	if f.Bytes < 0 || f.Bytes > MaxFileSize {
		return fmt.Errorf("bytes %d outside 0..%d", f.Bytes, int64(MaxFileSize))
	}
	return nil
}

func (s Screens) validate() error {
	if len(s.List) == 0 || len(s.List) > MaxScreens {
		return fmt.Errorf("%d screens outside 1..%d", len(s.List), MaxScreens)
	}
	seen := make(map[int]bool, len(s.List))
	primaries := 0
	for _, sc := range s.List {
		if sc.Index < 0 || sc.Index >= MaxScreens {
			return fmt.Errorf("screen index %d outside 0..%d", sc.Index, MaxScreens-1)
		}
		if seen[sc.Index] {
			return fmt.Errorf("screen index %d twice", sc.Index)
		}
		seen[sc.Index] = true
		if sc.Width < 1 || sc.Width > MaxVideoSize || sc.Height < 1 || sc.Height > MaxVideoSize {
			return fmt.Errorf("screen %d: size %dx%d outside 1..%d", sc.Index, sc.Width, sc.Height, MaxVideoSize)
		}
		if len(sc.Name) > MaxScreenNameBytes {
			return fmt.Errorf("screen %d: name longer than %d bytes", sc.Index, MaxScreenNameBytes)
		}
		if err := checkText(sc.Name, false); err != nil {
			return fmt.Errorf("screen %d: name: %v", sc.Index, err)
		}
		if sc.Primary {
			primaries++
		}
	}
	if primaries > 1 {
		return fmt.Errorf("%d primary screens", primaries)
	}
	return nil
}

func (s ScreenSwitchRequest) validate() error {
	if s.Index < 0 || s.Index >= MaxScreens {
		return fmt.Errorf("screen index %d outside 0..%d", s.Index, MaxScreens-1)
	}
	return nil
}

func (d Desktop) validate() error {
	if d.Capture == "" || len(d.Capture) > maxCaptureBytes {
		return fmt.Errorf("capture method of %d bytes outside 1..%d", len(d.Capture), maxCaptureBytes)
	}
	for i := range len(d.Capture) {
		if c := d.Capture[i]; !isASCIIAlnum(c) && c != '-' {
			return fmt.Errorf("capture method %q: only letters, digits and '-'", d.Capture)
		}
	}
	return nil
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// checkID accepts [A-Za-z0-9-]{1,64}: ids end up in logs and maps, never in
// paths, but there is no reason to allow more.
func checkID(id string) error {
	if id == "" || len(id) > MaxIDBytes {
		return fmt.Errorf("id of %d bytes outside 1..%d", len(id), MaxIDBytes)
	}
	for i := 0; i < len(id); i++ {
		if !isASCIIAlnum(id[i]) && id[i] != '-' {
			return fmt.Errorf("id %q: only letters, digits and '-'", id)
		}
	}
	return nil
}

// checkSHA256 accepts 64 lowercase hex digits, the one spelling both sides
// produce, so that comparing hashes is comparing strings.
func checkSHA256(s string) error {
	if len(s) != 64 {
		return fmt.Errorf("sha256 of %d characters, want 64", len(s))
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return errors.New("sha256: only lowercase hex digits")
		}
	}
	return nil
}

// checkText refuses invalid UTF-8 and control characters (newlines and tabs
// only where multiline is true). Display text with control characters can
// mislead whoever reads it; typed text with them would press keys.
func checkText(s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return errors.New("not UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// decoders maps each type tag to a function decoding and validating its
// payload. Keeping it a map of constructors (not of values) means Decode
// never shares state.
var decoders = msgtag.New(
	msgtag.For[Pointer](decodeAs[Pointer]),
	msgtag.For[Key](decodeAs[Key]),
	msgtag.For[Text](decodeAs[Text]),
	msgtag.For[ReleaseAll](decodeAs[ReleaseAll]),
	msgtag.For[ClipboardRequest](decodeAs[ClipboardRequest]),
	msgtag.For[Clipboard](decodeAs[Clipboard]),
	msgtag.For[FileOffer](decodeAs[FileOffer]),
	msgtag.For[FileAccept](decodeAs[FileAccept]),
	msgtag.For[FileDecline](decodeAs[FileDecline]),
	msgtag.For[FileChunk](decodeAs[FileChunk]),
	msgtag.For[FileDone](decodeAs[FileDone]),
	msgtag.For[FileCancel](decodeAs[FileCancel]),
	msgtag.For[FileProgress](decodeAs[FileProgress]),
	msgtag.For[Screens](decodeAs[Screens]),
	msgtag.For[ScreenSwitchRequest](decodeAs[ScreenSwitchRequest]),
	msgtag.For[Desktop](decodeAs[Desktop]),
)

// maxBytes is the size limit of an encoded message of type typ.
func maxBytes(typ string) int {
	switch typ {
	case "file_chunk":
		return MaxChunkMessageBytes
	case "clipboard":
		return MaxClipboardMessageBytes
	}
	return MaxMessageBytes
}

func decodeAs[T Message](data json.RawMessage) (Message, error) {
	var m T
	if len(data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return nil, err
		}
		if trailing(dec, data) {
			return nil, errors.New("trailing data")
		}
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// trailing reports whether anything but JSON whitespace follows the value
// dec just decoded from b. (json.Decoder.More, which internal/protocol uses,
// misses a stray "]" or "}".)
func trailing(dec *json.Decoder, b []byte) bool {
	rest := b[dec.InputOffset():]
	return len(bytes.TrimLeft(rest, " \t\r\n")) > 0
}

type envelope struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// ErrMalformed wraps every decoding failure, and every refusal by Encode to
// send what Decode would refuse.
var ErrMalformed = errors.New("malformed data-channel message")

// Encode validates m and wraps it in its envelope. It refuses (with an error
// wrapping ErrMalformed) whatever Decode would refuse, so a bug on this side
// shows up here rather than as a silent drop on the other.
func Encode(m Message) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil message", ErrMalformed)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: encode %s: %v", ErrMalformed, m.Type(), err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Nothing here is embedded in HTML; escaping <, > and & would only
	// make clipboard text bigger.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Type string  `json:"type"`
		Data Message `json:"data"`
	}{m.Type(), m}); err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type(), err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if limit := maxBytes(m.Type()); len(b) > limit {
		return nil, fmt.Errorf("%w: encode %s: %d bytes exceeds %d", ErrMalformed, m.Type(), len(b), limit)
	}
	return b, nil
}

// Decode parses and validates one message. Unknown types, unknown fields,
// oversized input, trailing bytes and out-of-range values are errors wrapping
// ErrMalformed: a peer that sends them is broken or hostile, and guessing
// would hide it. The caller drops such a message; whether to also close the
// channel is its decision.
//
// Like internal/protocol, keys match exactly and appear once
// (internal/wirejson), so the agent and a browser cannot read one message
// two ways; pointer and key actions are validated on the decoded value.
func Decode(b []byte) (Message, error) {
	if len(b) > MaxFrameBytes {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrMalformed, len(b), MaxFrameBytes)
	}
	var env envelope
	if err := wirejson.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	decode, ok := decoders[env.Type]
	if !ok {
		return nil, fmt.Errorf("%w: unknown type %q", ErrMalformed, env.Type)
	}
	if limit := maxBytes(env.Type); len(b) > limit {
		return nil, fmt.Errorf("%w: %s of %d bytes exceeds %d", ErrMalformed, env.Type, len(b), limit)
	}
	m, err := decode(env.Data)
	if err == nil && len(env.Data) > 0 {
		err = wirejson.Check(env.Data, m)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, env.Type, err)
	}
	return m, nil
}
