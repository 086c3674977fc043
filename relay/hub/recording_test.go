package hub_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/hub"
	"github.com/meekijk/meekijk/relay/recording"
)

// recorderRef lets the hub be built before the recording service, which
// needs the env's store.
type recorderRef struct{ *recording.Service }

func newRecordingEnv(t *testing.T, mode store.RecordingMode) *env {
	t.Helper()
	ref := &recorderRef{}
	e := newEnv(t, func(c *hub.Config) { c.Recordings = ref })
	ref.Service = recording.New(filepath.Join(t.TempDir(), "recordings"), e.st, recording.Limits{}, slog.New(slog.DiscardHandler))
	if err := e.st.SetRecordingSettings(context.Background(), store.RecordingSettings{Mode: mode, RetentionDays: 30}); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRecordingRefusedKeepsSharing(t *testing.T) {
	e := newRecordingEnv(t, store.RecordingAsk)
	agent, console := e.live()
	if req := expect[protocol.RecordingRequest](t, agent); req.RetentionDays != 30 {
		t.Fatalf("recording request %+v, want the desk's 30 days", req)
	}
	agent.send(t, protocol.RecordingConsent{Granted: false, Version: "2026-12", Text: "Mag deze sessie opgenomen worden?", Lang: "nl"})
	if r := expect[protocol.Recording](t, console); r.State != protocol.RecordingRefused || r.Token != "" {
		t.Fatalf("console told %+v, want refused", r)
	}
	// Asked once: a second answer is refused, and the session stays live.
	agent.send(t, protocol.RecordingConsent{Granted: true, Version: "2026-12", Text: "x", Lang: "nl"})
	expectError(t, agent, protocol.ErrNotAllowed)
	if s := e.session(); s.Status != store.StatusLive {
		t.Fatalf("session %s after refusing recording, want live", s.Status)
	}
	if e.eventCount(store.EventRecordingRefused) != 1 || e.eventCount(store.EventRecordingGranted) != 0 {
		t.Fatalf("events %v", e.eventKinds())
	}
}

func TestRecordingGrantedGivesTheAgentAToken(t *testing.T) {
	e := newRecordingEnv(t, store.RecordingAsk)
	agent, console := e.live()
	expect[protocol.RecordingRequest](t, agent)
	agent.send(t, protocol.RecordingConsent{Granted: true, Version: "2026-12", Text: "Mag deze sessie opgenomen worden?", Lang: "nl"})
	if r := expect[protocol.Recording](t, agent); r.State != protocol.RecordingOn || r.Token == "" || r.MaxChunkBytes <= 0 {
		t.Fatalf("agent told %+v, want on with a token", r)
	}
	if r := expect[protocol.Recording](t, console); r.State != protocol.RecordingOn || r.Token != "" {
		t.Fatalf("console told %+v, want on without the token", r)
	}
	if _, err := e.st.Recording(context.Background(), e.sess.ID); err != nil {
		t.Fatalf("no recording opened: %v", err)
	}
}

func TestRecordingNotAskedWhenOffOrOnlyForData(t *testing.T) {
	for _, mode := range []store.RecordingMode{store.RecordingOff, store.RecordingAskData} {
		e := newRecordingEnv(t, mode)
		agent, _ := e.live()
		// Unasked, an answer is refused: the relay asked nothing.
		agent.send(t, protocol.RecordingConsent{Granted: true, Version: "2026-12", Text: "x", Lang: "nl"})
		expectError(t, agent, protocol.ErrNotAllowed)
		if n := e.eventCount(store.EventRecordingAsked); n != 0 {
			t.Fatalf("mode %s: asked %d times on view", mode, n)
		}
	}
}

func TestClipboardUseIsRecorded(t *testing.T) {
	e := newEnv(t)
	agent, _ := e.live()
	agent.send(t, protocol.ClipboardEvent{Direction: protocol.ClipboardRead, Chars: 12})
	e.waitEvent(store.EventClipboard)
	agent.send(t, protocol.ClipboardEvent{Direction: protocol.ClipboardWritten, Chars: -1})
	expectError(t, agent, protocol.ErrBadMessage)
}
