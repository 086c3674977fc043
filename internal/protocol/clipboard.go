package protocol

// ClipboardEvent (agent to relay) reports that the technician read the
// customer's clipboard or put text on it, for the session's record. The
// text itself travels over the data channel and is never reported.
type ClipboardEvent struct {
	// Direction is ClipboardRead or ClipboardWritten.
	Direction string `json:"direction"`
	// Chars is how many characters were read or written.
	Chars int `json:"chars"`
}

// Clipboard directions.
const (
	ClipboardRead    = "read"
	ClipboardWritten = "written"
)

var clipboardDirections = []string{ClipboardRead, ClipboardWritten}

func (ClipboardEvent) Type() string { return "clipboard_event" }
