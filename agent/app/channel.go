package app

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/meekijk/meekijk/agent/stream"
	"github.com/meekijk/meekijk/internal/datachannel"
	"github.com/meekijk/meekijk/internal/protocol"
)

// dcMessage is a data-channel message for the loop: everything but input.
type dcMessage struct {
	sender *stream.Sender
	m      datachannel.Message
}

// fromConsole receives the console's data-channel messages on pion's
// goroutine. Input goes straight to the controller, which drops it unless
// the loop switched control on: the loop need not see 100 pointer moves a
// second. The rest waits for the loop, which holds back the next message
// (back-pressure for file chunks), until the share is stopped.
func (a *App) fromConsole(ctx context.Context, s *stream.Sender, m datachannel.Message) {
	if p, ok := m.(datachannel.Pointer); ok && a.cfg.StageTimes && p.Action == datachannel.ActionDown {
		a.log.Info("input: button press received", "at_us", time.Now().UnixMicro())
	}
	if a.controller != nil && a.controller.Handle(m) {
		return
	}
	select {
	case a.dcIn <- dcMessage{sender: s, m: m}:
	case <-ctx.Done():
	}
}

// clipboardUsed tells the customer's page and the relay's record that
// the technician read or wrote the clipboard (never what it held).
func (a *App) clipboardUsed(direction, text string) {
	chars := utf8.RuneCountInString(text)
	a.state.Clipboard, a.state.ClipboardAt, a.state.ClipChars = direction, time.Now().UnixMilli(), chars
	a.publish()
	_ = a.toRelay(protocol.ClipboardEvent{Direction: direction, Chars: chars})
}

func (a *App) onChannel(dm dcMessage) {
	if dm.sender != a.sender {
		return // from a stream already stopped
	}
	controlling := a.state.Level.Rank() >= protocol.LevelControl.Rank()
	switch m := dm.m.(type) {
	case datachannel.Pointer, datachannel.Key, datachannel.Text, datachannel.ReleaseAll:
		// Only without a controller: nothing to inject into.
	case datachannel.Clipboard:
		if !controlling || a.cfg.Clipboard == nil {
			a.log.Info("clipboard from the console dropped: control not granted")
			return
		}
		if err := a.cfg.Clipboard.WriteClipboard(m.Text); err != nil {
			a.log.Warn("set clipboard", "err", err)
			return
		}
		a.clipboardUsed(protocol.ClipboardWritten, m.Text)
	case datachannel.ClipboardRequest:
		if !controlling || a.cfg.Clipboard == nil {
			a.log.Info("clipboard request dropped: control not granted")
			return
		}
		text, err := a.cfg.Clipboard.ReadClipboard()
		if err != nil {
			a.log.Warn("read clipboard", "err", err)
			return
		}
		if len(text) > datachannel.MaxClipboardBytes {
			a.log.Info("clipboard too large to send", "bytes", len(text))
			return
		}
		_ = a.sender.Send(datachannel.Clipboard{Text: text})
		a.clipboardUsed(protocol.ClipboardRead, text)
	case datachannel.ScreenSwitchRequest:
		a.askScreen(m.Index)
		a.publish()
	case datachannel.FileOffer:
		a.onFileOffer(m)
	case datachannel.FileChunk:
		a.onFileChunk(m)
	case datachannel.FileDone:
		a.onFileDone(m)
	case datachannel.FileCancel:
		a.onFileCancel(m)
	case datachannel.FileAccept:
		a.onFileAccept(m)
	case datachannel.FileDecline:
		a.onFileDecline(m)
	case datachannel.FileProgress:
		a.onFileProgress(m)
	default:
		a.log.Warn("data-channel message not for the agent", "type", m.Type())
	}
}
