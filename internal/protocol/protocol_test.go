package protocol

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestRoundTrip(t *testing.T) {
	msgs := []Message{
		Hello{Protocol: Version, Role: RoleAgent, Software: "1.0", Agent: &AgentInfo{Hostname: "kassa-1", User: "marie", OS: "linux"}},
		Welcome{Protocol: Version, Software: "1.0", ICETransportPolicy: "relay"},
		Error{Code: ErrThrottled, Message: "too many wrong codes", RetryAfter: 42},
		Join{Code: "123456789"},
		Joined{SessionID: 7, Technician: "Jan", Company: "Acme", TicketRef: "2026-000001", TicketTitle: "Printer", ICEServers: []ICEServer{{URLs: []string{"turn:127.0.0.1:3478"}}}},
		ConsentRequest{Level: LevelView},
		Consent{Level: LevelView, Granted: true, Text: "Jan van Acme vraagt om uw scherm te bekijken.", Lang: "nl"},
		Offer{SDP: "v=0\r\n"},
		Answer{SDP: "v=0\r\n"},
		Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: ptr("0"), SDPMLineIndex: ptr[uint16](0), UsernameFragment: ptr("abcd")},
		Renegotiate{},
		MediaStarted{},
		End{By: ByCustomer, Reason: "stopped"},
		Status{Status: StatusLive, Agent: &AgentInfo{Hostname: "h"}, Level: LevelControl},
		ConsentRequest{Level: LevelDataIntervention, Intervention: &Intervention{Description: "Dubbele facturen verwijderen", Category: "data", EstimateMinutes: 30},
			Cost: &CostNotice{Reasons: []string{"data_intervention"}, CentsPerHour: 8500, IncrementMinutes: 15, MinimumMinutes: 60, VATPercent: 21}},
		Consent{Level: LevelDataIntervention, Granted: true, Text: "…", Lang: "fr", Acceptance: &Acceptance{Version: "1", Answers: []StatementAnswer{{Statement: "Ik heb een back-up.", Confirmed: true}}, Name: "Marie Peeters", OSUser: "marie"}},
		LevelChange{Level: LevelView, Reason: "customer"},
		Reconfirm{Outcome: ReconfirmAsked, DeadlineSeconds: 60},
		Handover{Technician: "Piet Janssens"},
		Chat{Text: "Bonjour", From: "customer", At: 1767261600000},
		FileEvent{Direction: FileToCustomer, Name: "factuur.pdf", Size: 5, Outcome: "done"},
		ScreenSwitch{Index: 1, Granted: true},
		Resume{SessionID: 42, Token: "q2Vh…"},
		Heartbeat{},
		ConsentRequest{Level: LevelControl, EstimateMinutes: 90, Cost: &CostNotice{Reasons: []string{"no_contract"}, CentsPerHour: 8500,
			IncrementMinutes: 15, MinimumMinutes: 60, VATPercent: 21, Estimate: &Estimate{Minutes: 90, BilledMinutes: 90, AmountCents: 12750, VATCents: 2678}}},
		ConsentRequest{Level: LevelControl, Keep: KeepOverrun, DeadlineSeconds: 60,
			Overrun: &Overrun{EstimateMinutes: 90, BillableMinutes: 113, LimitMinutes: 135, AmountCents: 19125}},
		Consent{Level: LevelControl, Granted: false, TimedOut: true, EstimateApproved: true},
		Overrun{EstimateMinutes: 90, BillableMinutes: 113, LimitMinutes: 135, AmountCents: 19125, Outcome: OverrunAsked},
		RecordingRequest{RetentionDays: 90},
		RecordingConsent{Granted: true, Version: "2026-12", Text: "Mag deze sessie opgenomen worden?", Lang: "nl"},
		Recording{State: RecordingOn, Token: "q3v", MaxChunkBytes: 1 << 24},
		ClipboardEvent{Direction: ClipboardRead, Chars: 12},
		SASCompared{Code: "842420"},
		SASCompared{Hash: "02bc70953a829633d010ec8852ed44af3abac8498fa3716c94ba8b144475149a"},
		SASCommit{Hash: "5dc331a3b00ef43ef13477edc72f9d0582700a3b46b474c54f5a09b4f1acfaa4"},
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("encode %T: %v", m, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
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

func TestDecodeRejects(t *testing.T) {
	cases := map[string]string{
		"empty":           ``,
		"not json":        `hello`,
		"array":           `[1,2]`,
		"unknown type":    `{"type":"shutdown","data":{}}`,
		"missing type":    `{"data":{"code":"1"}}`,
		"unknown field":   `{"type":"join","data":{"code":"1","admin":true}}`,
		"unknown top":     `{"type":"join","data":{"code":"1"},"x":1}`,
		"wrong type":      `{"type":"join","data":{"code":123}}`,
		"trailing":        `{"type":"join","data":{"code":"1"}}{}`,
		"stray brace":     `{"type":"join","data":{"code":"1"}}}`,
		"stray bracket":   `{"type":"join","data":{"code":"1"}}]`,
		"oversized":       `{"type":"offer","data":{"sdp":"` + strings.Repeat("a", MaxMessageBytes) + `"}}`,
		"data not object": `{"type":"consent","data":"yes"}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%.60q) = %v, want ErrMalformed", in, err)
			}
		})
	}
}

// The protocol document must show a decodable example of every message, so
// the doc cannot drift from the code.
func TestProtocolDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	seen := map[string]bool{}
	for _, b := range blocks {
		m, err := Decode([]byte(strings.TrimSpace(b[1])))
		if err != nil {
			t.Errorf("docs/protocol.md example does not decode: %v\n%s", err, b[1])
			continue
		}
		seen[m.Type()] = true
	}
	for typ := range decoders {
		if !seen[typ] {
			t.Errorf("docs/protocol.md has no example of %q", typ)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","data":{"code":"123456789"}}`,
		`{"type":"candidate","data":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0}}`,
		// Exactly what Chromium's RTCIceCandidate.toJSON() produces.
		`{"type":"candidate","data":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host generation 0 ufrag Ab12 network-id 1","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Ab12"}}`,
		`{"type":"renegotiate"}`,
		`{"type":"status","data":{"status":"live","agent":{"hostname":"h","user":"u","os":"linux"}}}`,
		// The consent ladder and the session's records.
		`{"type":"consent_request","data":{"level":"data_intervention","intervention":{"description":"d","category":"c","categoryNames":{"nl":"n"},"estimateMinutes":30},"cost":{"reasons":["no_contract"],"centsPerHour":8500,"incrementMinutes":15,"minimumMinutes":60,"vatPercent":21}}}`,
		`{"type":"consent","data":{"level":"data_intervention","granted":true,"text":"t","lang":"nl","acceptance":{"version":"2026-11","answers":[{"statement":"s","confirmed":true}],"name":"Marie","osUser":"marie"}}}`,
		`{"type":"level","data":{"level":"view","reason":"customer"}}`,
		`{"type":"reconfirm","data":{"outcome":"asked","deadlineSeconds":60}}`,
		`{"type":"chat","data":{"text":"Bonjour, ça va ? €","from":"customer","at":1767261600000}}`,
		`{"type":"file_event","data":{"direction":"to_customer","name":"../../etc/x","size":5,"outcome":"done"}}`,
		`{"type":"screen_switch","data":{"index":1,"granted":true,"byCustomer":true}}`,
		`{"type":"handover","data":{"technician":"Piet"}}`,
		// The input that broke the round trip (issue 15): an empty map.
		`{"type":"consent_request","data":{"level":"view","intervention":{"description":"d","category":"c","categoryNames":{}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode to a wire form that is a fixed
		// point: decoding and encoding it again gives the same bytes and
		// the same value. (The first decode may hold an empty map or list
		// where Encode writes nothing, as omitempty says: both mean
		// "none", so the property is on the encoded form.)
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("encode after decode: %v", err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decode %s: %v", enc, err)
		}
		enc2, err := Encode(again)
		if err != nil {
			t.Fatalf("encode after re-decode: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding: %s vs %s", enc, enc2)
		}
		third, err := Decode(enc2)
		if err != nil {
			t.Fatalf("decode %s: %v", enc2, err)
		}
		if !reflect.DeepEqual(again, third) {
			t.Fatalf("unstable: %#v vs %#v", again, third)
		}
	})
}

// A consent level travels as its word; a word that is no level is refused
// both ways, so it never reaches code that compares levels.
func TestLevelIsOrderedAndRefusesUnknownWords(t *testing.T) {
	if !(LevelNone.Below(LevelView) && LevelView.Below(LevelControl) && LevelControl.Below(LevelDataIntervention)) {
		t.Error("levels out of order")
	}
	m, err := Decode([]byte(`{"type":"consent","data":{"level":"control","granted":true}}`))
	if err != nil || m.(Consent).Level != LevelControl {
		t.Fatalf("decode control: %v %+v", err, m)
	}
	for _, word := range []string{"superuser", "Control", "view "} {
		if _, err := Decode([]byte(`{"type":"consent","data":{"level":"` + word + `","granted":true}}`)); !errors.Is(err, ErrMalformed) {
			t.Errorf("level %q decoded: %v", word, err)
		}
	}
	if _, err := Encode(LevelChange{Level: "superuser"}); err == nil {
		t.Error("an unknown level was encoded")
	}
	if b, err := Encode(Status{Status: StatusLive}); err != nil || strings.Contains(string(b), "level") {
		t.Errorf("no level: %s, %v", b, err)
	}
}
