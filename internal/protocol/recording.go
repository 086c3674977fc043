package protocol

// Recording a session is a question of its own, apart from the consent
// ladder: a customer who refuses it still shares the screen.

// RecordingRequest (relay to agent) asks the customer whether the session
// may be recorded. The relay sends it when the desk's setting says so:
// once viewing is allowed, or once a data intervention is accepted.
type RecordingRequest struct {
	// RetentionDays is how long the desk keeps recordings, for the
	// question's text.
	RetentionDays int `json:"retentionDays"`
}

// RecordingConsent (agent to relay) is the customer's answer, with the
// question as shown (internal/consent.Recording) and its wording version.
type RecordingConsent struct {
	Granted bool   `json:"granted"`
	Version string `json:"version"`
	Text    string `json:"text"`
	Lang    string `json:"lang"`
}

// Recording tells where the recording stands: the relay sends it to the
// agent (with Token while it records) and to the console (never a token).
type Recording struct {
	// State is RecordingOn, RecordingRefused or RecordingOff.
	State string `json:"state"`
	// Token authenticates the agent's chunk uploads (POST
	// /agent/recording/{seq}, Authorization: Bearer Token).
	Token string `json:"token,omitempty"`
	// MaxChunkBytes bounds one upload.
	MaxChunkBytes int64 `json:"maxChunkBytes,omitempty"`
}

// Recording states.
const (
	RecordingOn      = "on"
	RecordingRefused = "refused"
	RecordingOff     = "off" // stopped: the session's level fell, the limit was reached
)

var recordingStates = []string{RecordingOn, RecordingRefused, RecordingOff}

func (RecordingRequest) Type() string { return "recording_request" }
func (RecordingConsent) Type() string { return "recording_consent" }
func (Recording) Type() string        { return "recording" }
