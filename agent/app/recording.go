package app

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/agent/record"
	"github.com/meekijk/meekijk/agent/relayclient"
	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

// Recording: a question of its own, apart from the consent ladder. The
// recorder copies the frames the live stream already encodes (no second
// encode) into Matroska chunks and uploads them to the relay as it goes.

// recordDrain is how long a stopping recorder may take to upload its last
// chunk.
const recordDrain = 3 * time.Second

// recorderState is the running recorder, owned by the loop; frames reach
// it from the stream's goroutine through App.recFrames.
type recorderState struct {
	rec  *record.Recorder
	stop context.CancelFunc
	done chan struct{}
}

// onRecordingRequest puts the relay's question to the customer, once.
func (a *App) onRecordingRequest(m protocol.RecordingRequest) {
	if !a.allowed || a.state.Phase != localui.PhaseSharing {
		a.log.Warn("recording question out of order ignored", "phase", a.state.Phase)
		return
	}
	for _, q := range a.questions {
		if q.prompt.Kind == localui.PromptRecording {
			return
		}
	}
	days := m.RetentionDays
	a.ask(&question{prompt: localui.Prompt{Kind: localui.PromptRecording},
		lines: func(l i18n.Lang) []string { return consent.Recording(a.catalog, l, a.who(), days).Lines }})
}

// answerRecording sends the customer's answer with the text they read:
// a recording question has lines only, so its Text is its lines joined.
func (a *App) answerRecording(q *question, yes bool) {
	a.dropQuestion(q)
	_ = a.toRelay(protocol.RecordingConsent{Granted: yes, Version: consent.RecordingVersion,
		Text: strings.Join(q.prompt.Lines, "\n"), Lang: a.state.Lang})
	a.log.Info("customer answered the recording question", "granted", yes)
}

// onRecording follows the relay: "on" with a token starts the recorder,
// anything else stops it.
func (a *App) onRecording(m protocol.Recording) {
	if m.State == protocol.RecordingOn && m.Token != "" && a.allowed {
		a.startRecorder(m.Token, m.MaxChunkBytes)
	} else if m.State != protocol.RecordingOn {
		a.stopRecorder()
	}
}

func (a *App) startRecorder(token string, maxChunk int64) {
	if a.recorder != nil {
		return
	}
	url, err := relayclient.HTTPURL(a.cfg.RelayURL, "/agent/recording")
	if err != nil {
		a.log.Error("recording: upload address", "err", err)
		return
	}
	size := a.sharedSize
	if a.src != nil {
		b := a.src.Bounds()
		size.X, size.Y = b.Dx()&^1, b.Dy()&^1 // as the stream encodes it
	}
	rec := record.New(record.Config{UploadURL: url, Token: token, MaxChunkBytes: maxChunk,
		Width: size.X, Height: size.Y, Logger: a.log.With("component", "record")})
	if a.sender != nil {
		rec.SetKeyRequester(a.sender.RequestKeyFrame)
	}
	ctx, stop := context.WithCancel(a.runCtx)
	st := &recorderState{rec: rec, stop: stop, done: make(chan struct{})}
	a.recorder = st
	a.recFrames.Store(rec)
	a.state.Recording = true
	a.runWG.Add(1)
	go func() {
		defer a.runWG.Done()
		defer close(st.done)
		if err := rec.Run(ctx, recordDrain); err != nil {
			a.log.Warn("recording stopped", "err", err)
			if errors.Is(err, record.ErrRefused) {
				a.reportAsync(event{recordingRefused: rec})
			}
		}
	}()
	a.log.Info("recording started", "width", size.X, "height", size.Y)
}

// stopRecorder stops the recorder, letting it upload its last chunk.
func (a *App) stopRecorder() {
	st := a.recorder
	if st == nil {
		return
	}
	a.recorder = nil
	a.recFrames.Store(nil)
	a.state.Recording = false
	st.stop()
	<-st.done
	chunks, bytes := st.rec.Uploaded()
	a.log.Info("recording stopped", "chunks", chunks, "bytes", bytes)
}

// recordFrame is the stream's OnEncoded: the frame goes to the recorder
// running now, if any.
func recordFrame(p *atomic.Pointer[record.Recorder]) func([]byte, time.Time) {
	return func(data []byte, at time.Time) {
		if rec := p.Load(); rec != nil {
			rec.Frame(data, at)
		}
	}
}
