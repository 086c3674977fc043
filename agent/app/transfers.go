package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meekijk/meekijk/agent/files"
	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/agent/stream"
	"github.com/meekijk/meekijk/internal/datachannel"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

// Files both ways over the data channel. A file for the customer is saved
// only after they accepted it and chose one of the offered folders; until
// then nothing touches the disk. A file from the customer is one they chose
// on the page.

// progressEvery is how often, in bytes, the receiver reports progress.
const progressEvery = 512 << 10

// incoming is a file the technician sends.
type incoming struct {
	offer    datachannel.FileOffer
	recv     *files.Receiver // set once accepted
	dir      string
	reported int64
}

// outgoing is a file the customer sends.
type outgoing struct {
	offer  datachannel.FileOffer
	path   string // the upload, removed when the transfer ends
	cancel context.CancelFunc
}

// sentFile is an outgoing sender's end.
type sentFile struct {
	id  string
	err error
}

// transfer returns the page's line for a transfer.
func (a *App) transfer(id string) *localui.Transfer {
	i := slices.IndexFunc(a.state.Transfers, func(t localui.Transfer) bool { return t.ID == id })
	if i < 0 {
		return nil
	}
	return &a.state.Transfers[i]
}

func (a *App) setTransfer(id, state string, bytes int64) {
	if t := a.transfer(id); t != nil {
		t.State, t.Bytes = state, bytes
	}
	a.uiDirty = true
}

// fileEvent records a transfer's step with the relay.
func (a *App) fileEvent(direction string, offer datachannel.FileOffer, name, outcome string) {
	_ = a.toRelay(protocol.FileEvent{Direction: direction, Name: name, Size: offer.Size, Outcome: outcome})
}

func (a *App) onFileOffer(m datachannel.FileOffer) {
	if _, dup := a.incoming[m.ID]; dup {
		return
	}
	// Checked now, against the first folder, so that a name that cannot
	// be saved or a file too large is refused before the customer is asked.
	check, err := files.NewReceiver(files.Config{Dir: firstOr(a.cfg.FileFolders), MaxSize: a.cfg.MaxFileBytes}, m.Name, m.Size, m.SHA256)
	if err != nil || len(a.cfg.FileFolders) == 0 {
		a.log.Info("file offer refused", "err", err, "folders", len(a.cfg.FileFolders))
		_ = a.sender.Send(datachannel.FileDecline{ID: m.ID})
		a.fileEvent(protocol.FileToCustomer, m, m.Name, "declined")
		return
	}
	in := &incoming{offer: m}
	a.incoming[m.ID] = in
	a.state.Transfers = append(a.state.Transfers, localui.Transfer{ID: m.ID, Name: check.Name(),
		Direction: protocol.FileToCustomer, Size: m.Size, State: "waiting"})
	a.fileEvent(protocol.FileToCustomer, m, check.Name(), "offered")
	technician, name, size := a.state.Technician, check.Name(), humanSize(m.Size)
	a.ask(&question{
		prompt: localui.Prompt{Kind: localui.PromptFile, Folders: a.cfg.FileFolders},
		lines: func(lang i18n.Lang) []string {
			return []string{a.catalog.T(lang, "agent.file.offer", "technician", technician, "name", name, "size", size)}
		},
		file: in,
	})
	a.publish()
}

func firstOr(dirs []string) string {
	if len(dirs) == 0 {
		return os.TempDir()
	}
	return dirs[0]
}

func (a *App) answerFile(q *question, yes bool, folder int) {
	in := q.file
	a.dropQuestion(q)
	id := in.offer.ID
	if _, still := a.incoming[id]; !still {
		return // cancelled by the technician meanwhile
	}
	if !yes || folder < 0 || folder >= len(a.cfg.FileFolders) {
		delete(a.incoming, id)
		_ = a.sender.Send(datachannel.FileDecline{ID: id})
		a.setTransfer(id, "declined", 0)
		a.fileEvent(protocol.FileToCustomer, in.offer, a.transfer(id).Name, "declined")
		return
	}
	in.dir = a.cfg.FileFolders[folder]
	recv, err := files.NewReceiver(files.Config{Dir: in.dir, MaxSize: a.cfg.MaxFileBytes}, in.offer.Name, in.offer.Size, in.offer.SHA256)
	if err == nil {
		err = recv.Accept()
	}
	if err != nil {
		a.log.Warn("cannot receive file", "err", err)
		a.failIncoming(id, "cannot save the file")
		return
	}
	in.recv = recv
	_ = a.sender.Send(datachannel.FileAccept{ID: id})
	a.setTransfer(id, "active", 0)
	a.fileEvent(protocol.FileToCustomer, in.offer, recv.Name(), "accepted")
}

func (a *App) onFileChunk(m datachannel.FileChunk) {
	in := a.incoming[m.ID]
	if in == nil || in.recv == nil {
		return
	}
	if err := in.recv.Write(m.Offset, m.Data); err != nil {
		a.log.Warn("file chunk refused", "err", err)
		a.failIncoming(m.ID, err.Error())
		return
	}
	got := in.recv.Received()
	if got-in.reported >= progressEvery && got < in.offer.Size {
		in.reported = got
		_ = a.sender.Send(datachannel.FileProgress{ID: m.ID, Bytes: got})
		a.setTransfer(m.ID, "active", got)
	}
}

func (a *App) onFileDone(m datachannel.FileDone) {
	in := a.incoming[m.ID]
	if in == nil || in.recv == nil {
		return
	}
	delete(a.incoming, m.ID)
	name, err := in.recv.Finish(m.SHA256)
	if err != nil {
		a.log.Warn("file refused at the end", "err", err)
		a.incoming[m.ID] = in
		a.failIncoming(m.ID, err.Error())
		return
	}
	// The full count, only now: the console takes it as "saved".
	_ = a.sender.Send(datachannel.FileProgress{ID: m.ID, Bytes: in.offer.Size})
	a.setTransfer(m.ID, "done", in.offer.Size)
	if t := a.transfer(m.ID); t != nil {
		t.Path = filepath.Join(in.dir, name)
	}
	a.fileEvent(protocol.FileToCustomer, in.offer, name, "done")
	a.log.Info("file received", "bytes", in.offer.Size)
}

// failIncoming ends a transfer that went wrong; the Receiver removes what
// it wrote.
func (a *App) failIncoming(id, reason string) {
	in := a.incoming[id]
	delete(a.incoming, id)
	if in != nil && in.recv != nil {
		_ = in.recv.Cancel()
	}
	if a.sender != nil {
		_ = a.sender.Send(datachannel.FileCancel{ID: id, Reason: sanitizeReason(reason)})
	}
	a.setTransfer(id, "failed", 0)
	if in != nil {
		a.fileEvent(protocol.FileToCustomer, in.offer, a.transfer(id).Name, "cancelled")
	}
}

// sanitizeReason keeps a reason within what datachannel accepts: no
// control characters, at most MaxReasonBytes, cut between characters.
func sanitizeReason(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r >= 0x20 && r != 0x7f {
			out = append(out, r)
		}
	}
	clean := string(out)
	if len(clean) > datachannel.MaxReasonBytes {
		clean = strings.ToValidUTF8(clean[:datachannel.MaxReasonBytes], "")
	}
	return clean
}

func (a *App) onFileCancel(m datachannel.FileCancel) {
	if in, ok := a.incoming[m.ID]; ok {
		delete(a.incoming, m.ID)
		if in.recv != nil {
			_ = in.recv.Cancel()
		}
		for _, q := range a.questions {
			if q.file == in {
				a.dropQuestion(q)
				break
			}
		}
		a.setTransfer(m.ID, "failed", 0)
		a.fileEvent(protocol.FileToCustomer, in.offer, a.transfer(m.ID).Name, "cancelled")
		return
	}
	if out, ok := a.outgoing[m.ID]; ok {
		a.endOutgoing(out, "failed", "cancelled")
	}
}

// offerFile offers the technician a file the customer chose on the page.
func (a *App) offerFile(name, path string) {
	if a.sender == nil || a.state.Phase != localui.PhaseSharing {
		_ = os.Remove(path)
		return
	}
	clean, err := files.SanitizeName(name)
	if err != nil {
		_ = os.Remove(path)
		return
	}
	sum, size, err := hashFile(path)
	if err != nil {
		a.log.Warn("read file to send", "err", err)
		_ = os.Remove(path)
		return
	}
	a.fileSeq++
	offer := datachannel.FileOffer{ID: fmt.Sprintf("c-%d", a.fileSeq), Name: clean, Size: size, SHA256: sum}
	if err := a.sender.Send(offer); err != nil {
		_ = os.Remove(path)
		return
	}
	a.outgoing[offer.ID] = &outgoing{offer: offer, path: path}
	a.state.Transfers = append(a.state.Transfers, localui.Transfer{ID: offer.ID, Name: clean,
		Direction: protocol.FileFromCustomer, Size: size, State: "waiting"})
	a.fileEvent(protocol.FileFromCustomer, offer, clean, "offered")
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func (a *App) onFileAccept(m datachannel.FileAccept) {
	out := a.outgoing[m.ID]
	if out == nil || out.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(a.runCtx)
	out.cancel = cancel
	a.setTransfer(m.ID, "active", 0)
	a.fileEvent(protocol.FileFromCustomer, out.offer, out.offer.Name, "accepted")
	s := a.sender
	a.runWG.Add(1)
	go func() {
		defer a.runWG.Done()
		err := sendFile(ctx, s, out)
		_ = a.report(a.runCtx, event{sent: &sentFile{id: m.ID, err: err}})
	}()
}

// sendFile streams a file in chunks, waiting for the channel to drain.
func sendFile(ctx context.Context, s *stream.Sender, out *outgoing) error {
	f, err := os.Open(out.path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, datachannel.MaxChunkBytes)
	var off int64
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			chunk := datachannel.FileChunk{ID: out.offer.ID, Offset: off, Data: buf[:n]}
			if err := s.SendWait(ctx, chunk); err != nil {
				return err
			}
			off += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return s.SendWait(ctx, datachannel.FileDone{ID: out.offer.ID, SHA256: out.offer.SHA256})
		}
		if err != nil {
			return err
		}
	}
}

func (a *App) onSent(s *sentFile) {
	out := a.outgoing[s.id]
	if out == nil || s.err == nil {
		return // done: the console's progress says when it is saved
	}
	a.log.Warn("sending file failed", "err", s.err)
	a.endOutgoing(out, "failed", "cancelled")
}

func (a *App) onFileDecline(m datachannel.FileDecline) {
	if out := a.outgoing[m.ID]; out != nil {
		a.endOutgoing(out, "declined", "declined")
	}
}

func (a *App) onFileProgress(m datachannel.FileProgress) {
	out := a.outgoing[m.ID]
	if out == nil {
		return
	}
	if m.Bytes >= out.offer.Size {
		a.endOutgoing(out, "done", "done")
		return
	}
	a.setTransfer(m.ID, "active", m.Bytes)
}

func (a *App) endOutgoing(out *outgoing, state, outcome string) {
	delete(a.outgoing, out.offer.ID)
	if out.cancel != nil {
		out.cancel()
	}
	_ = os.Remove(out.path)
	bytes := int64(0)
	if state == "done" {
		bytes = out.offer.Size
	}
	a.setTransfer(out.offer.ID, state, bytes)
	a.fileEvent(protocol.FileFromCustomer, out.offer, out.offer.Name, outcome)
}

// abortTransfers ends every transfer when the stream they travel on stops.
func (a *App) abortTransfers() {
	for id := range a.incoming {
		a.failIncoming(id, "sharing stopped")
	}
	for _, out := range a.outgoing {
		a.endOutgoing(out, "failed", "cancelled")
	}
}

// humanSize writes a file size for the customer.
func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
