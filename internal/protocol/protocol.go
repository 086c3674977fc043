// Package protocol defines the JSON messages that the agent, the relay and the
// console exchange over WebSocket. Every message is an envelope
// {"type": "...", "data": {...}}; docs/protocol.md shows an example of each.
//
// The protocol is versioned: each side opens with a hello carrying Version,
// and the relay refuses a peer that speaks another version rather than
// guessing at what it meant.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/meekijk/meekijk/internal/msgtag"
	"github.com/meekijk/meekijk/internal/wirejson"
)

// Version is the protocol version spoken by this build.
const Version = 1

// MaxMessageBytes bounds one message on the wire. The largest legitimate
// message is an SDP offer (a few KiB); anything near this limit is an attack
// or a bug, and the connection is closed.
const MaxMessageBytes = 64 << 10

// Message is implemented by every payload type.
type Message interface {
	// Type is the envelope's type tag.
	Type() string
}

// Roles a peer declares in its hello.
const (
	RoleAgent   = "agent"
	RoleConsole = "console"
)

// Hello opens every connection.
type Hello struct {
	Protocol int    `json:"protocol"`
	Role     string `json:"role"`
	// Software is the peer's build version, for logs and support.
	Software string `json:"software,omitempty"`
	// Agent describes the customer's machine; set by agents only.
	Agent *AgentInfo `json:"agent,omitempty"`
}

// AgentInfo describes the customer's machine as the agent reports it. The
// relay treats every field as untrusted display text.
type AgentInfo struct {
	Hostname string `json:"hostname"`
	User     string `json:"user"`
	OS       string `json:"os"`
}

// Welcome is the relay's answer to an accepted Hello.
type Welcome struct {
	Protocol int    `json:"protocol"`
	Software string `json:"software"`
	// ICEServers is set for consoles; agents get theirs in Joined.
	ICEServers []ICEServer `json:"iceServers,omitempty"`
	// ICETransportPolicy is "relay" when the desk allows media only
	// through its TURN relay, so neither side reveals its own addresses.
	ICETransportPolicy string `json:"iceTransportPolicy,omitempty"`
}

// Error reports a refused request. Code is stable and machine-readable (the
// agent and console translate it); Message is English, for logs.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfter, in seconds, is set when the request was throttled.
	RetryAfter int `json:"retryAfter,omitempty"`
}

// Error codes.
const (
	ErrBadMessage      = "bad_message"
	ErrProtocolVersion = "protocol_version"
	ErrWrongCode       = "wrong_code"
	ErrExpiredCode     = "expired_code"
	ErrUsedCode        = "used_code"
	ErrThrottled       = "throttled"
	ErrNotAllowed      = "not_allowed"
	ErrSessionOver     = "session_over"
	ErrReplaced        = "replaced"
	ErrInternal        = "internal"
	// ErrNoAcceptance: a data intervention was granted without the
	// customer's complete acceptance; the level stays where it was.
	ErrNoAcceptance = "no_acceptance"
	// ErrCannotPrice: the work asked for would be billable, but the desk's
	// data gives no price for it (no hourly rate): it cannot be announced,
	// so it is not asked.
	ErrCannotPrice = "cannot_price"
	// ErrRelayRestarting: the relay is shutting down, probably for an
	// upgrade. Agents and consoles reconnect; sharing resumes only with a
	// fresh consent from the customer.
	ErrRelayRestarting = "relay_restarting"
	// ErrNoEstimateApproval: billable work whose estimate needed the
	// customer's approval was granted without it; the level stays where
	// it was.
	ErrNoEstimateApproval = "no_estimate_approval"
)

// Join asks the relay to attach the agent to the session a code was issued for.
type Join struct {
	Code string `json:"code"`
}

// Resume reattaches an agent to its session after its connection to the
// relay was lost. Token is the one the last Joined gave; a wrong one counts
// as a wrong code.
type Resume struct {
	SessionID int64  `json:"sessionId"`
	Token     string `json:"token"`
}

// Heartbeat is sent by the agent every HeartbeatInterval while it is in a
// session, and echoed by the relay. Each side treats a silence of
// LinkTimeout as the link being down (no input, no worked time) well before
// TCP would notice a dead network.
type Heartbeat struct{}

// Link liveness during a session.
const (
	HeartbeatInterval = 2 * time.Second
	LinkTimeout       = 6 * time.Second
)

// Joined tells the agent who is asking, so the customer can decide. It
// answers a Join and a Resume.
type Joined struct {
	SessionID   int64       `json:"sessionId"`
	Technician  string      `json:"technician"`
	Company     string      `json:"company"`
	TicketRef   string      `json:"ticketRef"`
	TicketTitle string      `json:"ticketTitle"`
	ICEServers  []ICEServer `json:"iceServers"`
	// ICETransportPolicy: see Welcome.
	ICETransportPolicy string `json:"iceTransportPolicy,omitempty"`
	// ReconfirmSeconds is how often the agent asks the customer whether
	// to keep sharing, and ReconfirmAnswerSeconds how long it waits for
	// an answer before it stops sharing (the desk's settings).
	ReconfirmSeconds       int `json:"reconfirmSeconds"`
	ReconfirmAnswerSeconds int `json:"reconfirmAnswerSeconds"`
	// ResumeToken lets the agent resume this session after a drop (see
	// Resume); each Joined replaces the previous token.
	ResumeToken string `json:"resumeToken,omitempty"`
	// GraceSeconds is how long the relay keeps the customer's consent
	// while the agent is unreachable. Longer, and sharing ends: it resumes
	// only after a new consent.
	GraceSeconds int `json:"graceSeconds,omitempty"`
	// Resumed is set when this answers a Resume. The relay then either
	// keeps the consent (within the grace period) or asks for a new one
	// with a ConsentRequest.
	Resumed bool `json:"resumed,omitempty"`
	// Lang is the language ("nl", "fr", "en") of the contact the session
	// is for, as the desk recorded it: the customer's page switches to it
	// (the customer can still switch back). "" when unknown.
	Lang string `json:"lang,omitempty"`
	// KeptLevel, in an answer to Resume, is the consent the relay kept:
	// the agent shares again (and offers a stream) only when it is set.
	// Empty: the consent lapsed (the grace period ran out, or the relay
	// restarted) and a ConsentRequest follows.
	KeptLevel Level `json:"keptLevel,omitempty"`
}

// ICEServer mirrors the browser's RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Level is a consent level. Levels are ordered (Rank) and travel as their
// words; a word that is no level is refused when decoded, so "superuser"
// never reaches the code that compares levels.
type Level string

// Consent levels, in the order a customer grants them. They are the same
// words as internal/billing's levels, which price the time spent at each.
const (
	LevelNone             Level = ""
	LevelView             Level = "view"
	LevelControl          Level = "control"
	LevelDataIntervention Level = "data_intervention"
)

// Rank orders the levels: 0 for none, then view, control, data
// intervention. An unknown level ranks -1.
func (l Level) Rank() int {
	switch l {
	case LevelNone:
		return 0
	case LevelView:
		return 1
	case LevelControl:
		return 2
	case LevelDataIntervention:
		return 3
	}
	return -1
}

// Valid reports whether l is a level or none.
func (l Level) Valid() bool { return l.Rank() >= 0 }

// Below reports whether l ranks below m.
func (l Level) Below(m Level) bool { return l.Rank() < m.Rank() }

// MarshalText refuses to send a word that is no level.
func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, fmt.Errorf("protocol: unknown consent level %q", string(l))
	}
	return []byte(l), nil
}

// UnmarshalText accepts only the levels' words (or none).
func (l *Level) UnmarshalText(b []byte) error {
	v := Level(b)
	if !v.Valid() {
		return fmt.Errorf("protocol: unknown consent level %q", string(b))
	}
	*l = v
	return nil
}

// ConsentRequest asks the agent to put a consent question to the customer.
// The relay sends the view request itself when the agent joins; the console
// sends the others, and the relay passes them on after recording them.
type ConsentRequest struct {
	Level Level `json:"level"`
	// Intervention describes the work, for LevelDataIntervention only.
	Intervention *Intervention `json:"intervention,omitempty"`
	// Cost, set by the relay when the work asked for is billable, is the
	// cost notice the customer must accept with the question.
	Cost *CostNotice `json:"cost,omitempty"`
	// EstimateMinutes is the technician's estimate of the work, for
	// LevelControl (optional, 0 for none); a data intervention carries
	// its own in Intervention.
	EstimateMinutes int `json:"estimateMinutes,omitempty"`
	// Keep, set by the relay only, makes this a question to keep the
	// level the session is at rather than to raise it: KeepRenotice when
	// the work became billable while at that level, KeepOverrun when the
	// approved estimate is overrun. Unanswered after DeadlineSeconds, or
	// declined, the session steps down to view.
	Keep            string   `json:"keep,omitempty"`
	DeadlineSeconds int      `json:"deadlineSeconds,omitempty"`
	Overrun         *Overrun `json:"overrun,omitempty"`
}

// Reasons to ask the customer to keep a level (ConsentRequest.Keep).
const (
	KeepRenotice = "renotice"
	KeepOverrun  = "overrun"
)

// CostNotice says why work is billable and on what terms, before it starts
// ("never an unforeseen bill"). Amounts are euro cents, excluding VAT.
type CostNotice struct {
	// Reasons are internal/helpdesk reason codes (no_contract, ...).
	Reasons          []string `json:"reasons"`
	CentsPerHour     int64    `json:"centsPerHour"`
	IncrementMinutes int64    `json:"incrementMinutes"`
	MinimumMinutes   int64    `json:"minimumMinutes"`
	SurchargePercent int64    `json:"surchargePercent,omitempty"`
	VATPercent       int64    `json:"vatPercent"`
	// Estimate is set when the technician's estimate exceeds an hour: the
	// customer approves it, apart from the notice, before the work starts.
	Estimate *Estimate `json:"estimate,omitempty"`
	// Prepaid is set when the customer holds prepaid hours: the work is
	// deducted from them before anything is billed (docs/billing.md).
	Prepaid *PrepaidNotice `json:"prepaid,omitempty"`
	// ApprovedEstimate is the ticket's latest estimate the customer
	// approved before the session: the relay lets it stand for an estimate
	// of up to its minutes (Estimate.ApprovedBefore).
	ApprovedEstimate *PriorApproval `json:"approvedEstimate,omitempty"`
}

// PrepaidNotice is the customer's prepaid balance before the work starts.
type PrepaidNotice struct {
	// LeftMinutes is what the valid blocks hold now.
	LeftMinutes int64 `json:"leftMinutes"`
	// Warning: the balance is at or below the desk's threshold.
	Warning bool `json:"warning,omitempty"`
	// ExpiredMinutes were left on blocks that expired unused.
	ExpiredMinutes int64 `json:"expiredMinutes,omitempty"`
}

// Estimate is what a technician's estimate would cost, billed as the
// statement would bill that much billable time (docs/billing.md).
type Estimate struct {
	Minutes int `json:"minutes"`
	// BilledMinutes is Minutes after the rounding and the minimum.
	BilledMinutes int64 `json:"billedMinutes"`
	AmountCents   int64 `json:"amountCents"` // exclusive of VAT
	VATCents      int64 `json:"vatCents"`
	// ApprovedBefore is set when the customer approved an estimate of at
	// least these minutes on the ticket before the session (in the portal,
	// or through the mailed link): the agent shows that approval and does
	// not ask for it again.
	ApprovedBefore *PriorApproval `json:"approvedBefore,omitempty"`
}

// PriorApproval is an estimate the customer approved before the session,
// as the store recorded it.
type PriorApproval struct {
	EstimateID int64     `json:"estimateId"`
	Minutes    int       `json:"minutes"`
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	TextSHA256 string    `json:"textSha256"`
}

// Overrun reports that billable time passed the approved estimate by the
// desk's margin. The relay sends it to the console (Outcome says where the
// question stands) and puts it in the keep question to the agent.
type Overrun struct {
	// EstimateMinutes is the approved estimate; BillableMinutes the
	// billable time since it was approved; LimitMinutes where the next
	// warning comes if the customer lets the work go on.
	EstimateMinutes int   `json:"estimateMinutes"`
	BillableMinutes int64 `json:"billableMinutes"`
	LimitMinutes    int64 `json:"limitMinutes"`
	// AmountCents prices LimitMinutes as an estimate would be (excl. VAT).
	AmountCents int64 `json:"amountCents"`
	// Outcome (to the console): OverrunAsked, OverrunContinued,
	// OverrunDeclined or OverrunTimeout.
	Outcome string `json:"outcome,omitempty"`
}

// Overrun outcomes.
const (
	OverrunAsked     = "asked"
	OverrunContinued = "continued"
	OverrunDeclined  = "declined"
	OverrunTimeout   = "timeout"
)

// Intervention is what the technician means to do on the customer's data.
type Intervention struct {
	Description string `json:"description"`
	// Category is the work category's code (the ticket's catalogue). The
	// relay checks it and adds CategoryNames, by language, for the
	// customer's page.
	Category        string            `json:"category"`
	CategoryNames   map[string]string `json:"categoryNames,omitempty"`
	EstimateMinutes int               `json:"estimateMinutes"`
}

// Consent is the customer's decision, sent by the agent with the question
// exactly as it was shown, so the record proves what was agreed to. The
// relay passes Level and Granted (never the text) on to the console.
type Consent struct {
	Level   Level `json:"level"`
	Granted bool  `json:"granted"`
	// Text is the question as the customer read it, in Lang.
	Text string `json:"text,omitempty"`
	Lang string `json:"lang,omitempty"`
	// Acceptance is required with a granted data intervention.
	Acceptance *Acceptance `json:"acceptance,omitempty"`
	// EstimateApproved: the customer ticked the estimate's own statement;
	// required when the request's cost notice holds an Estimate.
	EstimateApproved bool `json:"estimateApproved,omitempty"`
	// TimedOut: a keep question went unanswered (Granted is false).
	TimedOut bool `json:"timedOut,omitempty"`
}

// Acceptance is the customer's acceptance of a data intervention's
// conditions: each statement confirmed one by one, then the acceptance
// text, signed by typing their name.
type Acceptance struct {
	// Version names the wording (internal/consent.Version).
	Version string            `json:"version"`
	Answers []StatementAnswer `json:"answers"`
	// Name is what the customer typed; OSUser who was logged in.
	Name   string `json:"name"`
	OSUser string `json:"osUser"`
}

// StatementAnswer is the customer's answer to one statement, as shown.
type StatementAnswer struct {
	Statement string `json:"statement"`
	Confirmed bool   `json:"confirmed"`
}

// LevelChange is sent by the agent when the customer steps down (Level is
// the new, lower level), and by the relay to the console when the level
// changed either way.
type LevelChange struct {
	Level Level `json:"level"`
	// Reason: "customer" (stepped down on the agent's page),
	// "reconfirm_timeout", "handover", "granted" (relay to console only);
	// from the relay to the console also "overrun_declined",
	// "overrun_timeout", "renotice_declined", "renotice_timeout" (a keep
	// question, ConsentRequest.Keep) and "cannot_price".
	Reason string `json:"reason,omitempty"`
}

// Handover tells the agent another technician took the session over. The
// agent shows the new name and drops to view: control was granted to the
// technician the customer was told about.
type Handover struct {
	Technician string `json:"technician"`
}

// Reconfirm reports the periodic "keep sharing?" question: the agent sends
// it when it asks (Outcome "asked"), and with the answer ("confirmed") or
// its absence ("timeout", after which the agent stops sharing).
type Reconfirm struct {
	Outcome string `json:"outcome"`
	// DeadlineSeconds is how long the customer has to answer ("asked").
	DeadlineSeconds int `json:"deadlineSeconds,omitempty"`
}

// Reconfirm outcomes.
const (
	ReconfirmAsked     = "asked"
	ReconfirmConfirmed = "confirmed"
	ReconfirmTimeout   = "timeout"
)

// Chat is a chat line. The sender fills Text; the relay stamps From and At
// (its own clock, Unix milliseconds) before storing and forwarding it.
type Chat struct {
	Text string `json:"text"`
	From string `json:"from,omitempty"` // "customer" or the technician's name
	At   int64  `json:"at,omitempty"`
}

// MaxChatRunes bounds a chat line.
const MaxChatRunes = 2000

// FileEvent is the agent's report of a file transfer's step, for the
// session's record. The bytes themselves go over the data channel.
type FileEvent struct {
	Direction string `json:"direction"` // FileToCustomer or FileFromCustomer
	Name      string `json:"name"`
	Size      int64  `json:"size"`
	Outcome   string `json:"outcome"` // offered, accepted, declined, done, cancelled
}

// File transfer directions.
const (
	FileToCustomer   = "to_customer"
	FileFromCustomer = "from_customer"
)

// ScreenSwitch is the agent's report that the shared screen changed, or
// that the customer refused the technician's request to switch.
type ScreenSwitch struct {
	Index   int  `json:"index"`
	Granted bool `json:"granted"`
	// ByCustomer: the customer switched on their own.
	ByCustomer bool `json:"byCustomer,omitempty"`
}

// Offer carries the agent's SDP offer. Only the agent offers: it is the side
// that decides whether media flows at all.
type Offer struct {
	SDP string `json:"sdp"`
	// Restart marks an ICE restart of the running connection: the console
	// applies it to its peer connection instead of starting a new one.
	Restart bool `json:"restart,omitempty"`
}

// Answer carries the console's SDP answer.
type Answer struct {
	SDP string `json:"sdp"`
}

// Candidate is one trickled ICE candidate, shaped like RTCIceCandidateInit
// (what a browser's RTCIceCandidate.toJSON() gives).
type Candidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Renegotiate asks the agent for a fresh offer, when the console (re)connects
// to a session that is already sharing.
type Renegotiate struct{}

// MediaStarted tells the relay the first video frame went out.
type MediaStarted struct{}

// Who ended a session.
const (
	ByCustomer   = "customer"
	ByTechnician = "technician"
	ByRelay      = "relay"
)

// End asks to end the session (from the agent or the console), or announces
// that it ended (from the relay).
type End struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Session statuses, as stored and as shown to the console.
const (
	StatusWaiting  = "waiting"  // code issued, no agent yet
	StatusJoined   = "joined"   // agent joined, customer deciding
	StatusLive     = "live"     // customer allowed; media may flow
	StatusDeclined = "declined" // customer denied
	StatusEnded    = "ended"
	// StatusInterrupted: the agent was unreachable longer than the grace
	// period, or the relay restarted. Sharing stopped; the session resumes
	// when the agent comes back and the customer consents again.
	StatusInterrupted = "interrupted"
	// StatusReconnecting is shown to the console, never stored: the agent
	// is unreachable and the grace period runs.
	StatusReconnecting = "reconnecting"
)

// Reasons a Status gives when the link changes.
const (
	ReasonResumed = "resumed" // back within the grace period
)

// Why a session ended or its level dropped (Status.Reason, End.Reason,
// LevelChange.Reason): the words the console and the agent page translate
// (reason.* in the catalogue). A keep question adds its own: Keep + the
// suffix (KeepDeclinedReason).
const (
	ReasonTechnicianEnded = "technician_ended"
	ReasonCustomerStopped = "customer_stopped"
	ReasonDeclined        = "declined"        // the customer refused the view question
	ReasonDeclinedResume  = "declined_resume" // … after an interruption
	ReasonCodeExpired     = "code_expired"    // shown to a console of a session never joined
	ReasonCodeReplaced    = "code_replaced"   // a new code for the same ticket ended the session still waiting
	ReasonHandover        = "handover"        // another technician took the session
	ReasonCustomer        = "customer"        // the customer stepped down
)

// KeepDeclinedReason is why the level dropped after a keep question was
// declined (or, timedOut, left unanswered).
func KeepDeclinedReason(keep string, timedOut bool) string {
	if timedOut {
		return keep + "_timeout"
	}
	return keep + "_declined"
}

// Status tells the console where the session stands.
type Status struct {
	Status string     `json:"status"`
	Agent  *AgentInfo `json:"agent,omitempty"`
	By     string     `json:"by,omitempty"`
	Reason string     `json:"reason,omitempty"`
	// Level is the consent level the customer granted (live sessions).
	Level Level `json:"level,omitempty"`
}

func (Hello) Type() string          { return "hello" }
func (Welcome) Type() string        { return "welcome" }
func (Error) Type() string          { return "error" }
func (Join) Type() string           { return "join" }
func (Joined) Type() string         { return "joined" }
func (ConsentRequest) Type() string { return "consent_request" }
func (Consent) Type() string        { return "consent" }
func (Offer) Type() string          { return "offer" }
func (Answer) Type() string         { return "answer" }
func (Candidate) Type() string      { return "candidate" }
func (Renegotiate) Type() string    { return "renegotiate" }
func (MediaStarted) Type() string   { return "media_started" }
func (End) Type() string            { return "end" }
func (Status) Type() string         { return "status" }
func (LevelChange) Type() string    { return "level" }
func (Reconfirm) Type() string      { return "reconfirm" }
func (Handover) Type() string       { return "handover" }
func (Chat) Type() string           { return "chat" }
func (FileEvent) Type() string      { return "file_event" }
func (ScreenSwitch) Type() string   { return "screen_switch" }
func (Resume) Type() string         { return "resume" }
func (Heartbeat) Type() string      { return "heartbeat" }
func (Overrun) Type() string        { return "overrun" }

// decoders maps each type tag to a function decoding its payload. Keeping it
// a map of constructors (not of values) means Decode never shares state.
var decoders = msgtag.New(
	msgtag.For[Hello](decodeAs[Hello]),
	msgtag.For[Welcome](decodeAs[Welcome]),
	msgtag.For[Error](decodeAs[Error]),
	msgtag.For[Join](decodeAs[Join]),
	msgtag.For[Joined](decodeAs[Joined]),
	msgtag.For[ConsentRequest](decodeAs[ConsentRequest]),
	msgtag.For[Consent](decodeAs[Consent]),
	msgtag.For[Offer](decodeAs[Offer]),
	msgtag.For[Answer](decodeAs[Answer]),
	msgtag.For[Candidate](decodeAs[Candidate]),
	msgtag.For[Renegotiate](decodeAs[Renegotiate]),
	msgtag.For[MediaStarted](decodeAs[MediaStarted]),
	msgtag.For[End](decodeAs[End]),
	msgtag.For[Status](decodeAs[Status]),
	msgtag.For[LevelChange](decodeAs[LevelChange]),
	msgtag.For[Reconfirm](decodeAs[Reconfirm]),
	msgtag.For[Handover](decodeAs[Handover]),
	msgtag.For[Chat](decodeAs[Chat]),
	msgtag.For[FileEvent](decodeAs[FileEvent]),
	msgtag.For[ScreenSwitch](decodeAs[ScreenSwitch]),
	msgtag.For[Resume](decodeAs[Resume]),
	msgtag.For[Heartbeat](decodeAs[Heartbeat]),
	msgtag.For[Overrun](decodeAs[Overrun]),
	msgtag.For[RecordingRequest](decodeAs[RecordingRequest]),
	msgtag.For[RecordingConsent](decodeAs[RecordingConsent]),
	msgtag.For[Recording](decodeAs[Recording]),
	msgtag.For[ClipboardEvent](decodeAs[ClipboardEvent]),
	msgtag.For[SASCompared](decodeSASCompared),
	msgtag.For[SASCommit](decodeSASCommit),
)

func decodeAs[T Message](data json.RawMessage) (Message, error) {
	var m T
	if len(data) == 0 {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if err := noTrailing(data, dec); err != nil {
		return nil, err
	}
	return m, nil
}

// noTrailing refuses anything but white space after the decoded value.
// dec.More() is not enough: it misses a stray '}' or ']'.
func noTrailing(b []byte, dec *json.Decoder) error {
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return errors.New("trailing data")
	}
	return nil
}

type envelope struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("malformed message")

// Encode wraps m in its envelope.
func Encode(m Message) ([]byte, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type(), err)
	}
	return json.Marshal(envelope{Type: m.Type(), Data: data})
}

// Decode parses one message. Unknown types, unknown fields, oversized input
// and trailing bytes are errors wrapping ErrMalformed: a peer that sends them
// is broken or hostile, and guessing would hide it.
func Decode(b []byte) (Message, error) {
	if len(b) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrMalformed, len(b), MaxMessageBytes)
	}
	// Exact keys, once each (internal/wirejson): encoding/json folds
	// "Granted" onto "granted" and keeps the last, a browser matches keys
	// exactly; refusing such a message keeps the two from disagreeing.
	var env envelope
	if err := wirejson.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	decode, ok := decoders[env.Type]
	if !ok {
		return nil, fmt.Errorf("%w: unknown type %q", ErrMalformed, env.Type)
	}
	m, err := decode(env.Data)
	if err == nil && len(env.Data) > 0 {
		err = wirejson.Check(env.Data, m)
	}
	if err == nil {
		err = checkEnums(m)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, env.Type, err)
	}
	return m, nil
}
