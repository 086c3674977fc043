package hub

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/safetext"
	"github.com/meekijk/meekijk/internal/store"
)

// What the agent reports for the session's record, and chat, which the
// relay stores as it passes it on.

// technicianName is who the customer is told works the session.
func (r *room) technicianName(sess store.Session) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.technician.ID != 0 {
		return r.technician.Name
	}
	return sess.TechnicianName
}

var reconfirmEvents = map[string]string{
	protocol.ReconfirmAsked:     store.EventReconfirmAsked,
	protocol.ReconfirmConfirmed: store.EventReconfirmed,
	protocol.ReconfirmTimeout:   store.EventReconfirmTimeout,
}

func (a *agentConn) reconfirm(ctx context.Context, m protocol.Reconfirm) error {
	kind, ok := reconfirmEvents[m.Outcome]
	if !ok || !a.room.isLive() {
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "unexpected reconfirm " + m.Outcome})
	}
	actor := actorCustomer
	if m.Outcome != protocol.ReconfirmConfirmed {
		actor = actorAgent
	}
	if err := a.h.store.AddEvent(ctx, a.room.id, kind, actor, map[string]int{"deadlineSeconds": m.DeadlineSeconds}); err != nil {
		a.log.Error("record reconfirmation", "err", err)
	}
	a.room.toConsole(m)
	return nil
}

// chat stores a chat line from one side and passes it to the other. from is
// the name the other side sees.
func (r *room) chat(ctx context.Context, h *Hub, sender side, m protocol.Chat, actor, from string) error {
	text := strings.TrimSpace(stripControlsKeepLines(m.Text))
	if text == "" || utf8.RuneCountInString(text) > protocol.MaxChatRunes {
		return sender.Send(protocol.Error{Code: protocol.ErrBadMessage, Message: "a chat line has 1 to 2000 characters"})
	}
	if !r.isLive() {
		return sender.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "chat before the customer allowed the session"})
	}
	if err := h.store.AddEvent(ctx, r.id, store.EventChat, actor, map[string]string{"from": from, "text": text}); err != nil {
		h.log.Error("record chat", "session", r.id, "err", err)
		return sender.Send(protocol.Error{Code: protocol.ErrInternal, Message: "could not store the message"})
	}
	out := protocol.Chat{Text: text, From: from, At: h.cfg.Now().UnixMilli()}
	r.mu.Lock()
	agent, console := r.agent, r.console
	r.mu.Unlock()
	// Both sides get the line back, stamped: the sender shows it once the
	// relay has stored it, so neither side shows a line the record lacks.
	if agent != nil {
		_ = agent.Send(out)
	}
	if console != nil {
		_ = console.Send(out)
	}
	return nil
}

// stripControlsKeepLines is stripControls for multi-line text.
func stripControlsKeepLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = stripControls(l)
	}
	return strings.Join(lines, "\n")
}

var fileOutcomes = map[string]bool{"offered": true, "accepted": true, "declined": true, "done": true, "cancelled": true}

func (a *agentConn) fileEvent(ctx context.Context, m protocol.FileEvent) error {
	if (m.Direction != protocol.FileToCustomer && m.Direction != protocol.FileFromCustomer) || !fileOutcomes[m.Outcome] ||
		m.Size < 0 || !a.room.isLive() {
		return a.conn.Send(protocol.Error{Code: protocol.ErrBadMessage, Message: "bad file event"})
	}
	detail := map[string]any{"direction": m.Direction, "name": cleanText(m.Name), "size": m.Size, "outcome": m.Outcome}
	if err := a.h.store.AddEvent(ctx, a.room.id, store.EventFile, actorCustomer, detail); err != nil {
		a.log.Error("record file event", "err", err)
	}
	return nil
}

// clipboardEvent records that the technician read or wrote the customer's
// clipboard; the console sees it in the session's timeline.
func (a *agentConn) clipboardEvent(ctx context.Context, m protocol.ClipboardEvent) error {
	if m.Chars < 0 || !a.room.isLive() {
		return a.conn.Send(protocol.Error{Code: protocol.ErrBadMessage, Message: "bad clipboard event"})
	}
	if err := a.h.store.AddEvent(ctx, a.room.id, store.EventClipboard, actorAgent, m); err != nil {
		a.log.Error("record clipboard event", "err", err)
	}
	return nil
}

func (a *agentConn) screenSwitch(ctx context.Context, m protocol.ScreenSwitch) error {
	if m.Index < 0 || m.Index > 64 || !a.room.isLive() {
		return a.conn.Send(protocol.Error{Code: protocol.ErrBadMessage, Message: "bad screen switch"})
	}
	if err := a.h.store.AddEvent(ctx, a.room.id, store.EventScreenSwitch, actorCustomer, m); err != nil {
		a.log.Error("record screen switch", "err", err)
	}
	a.room.toConsole(m)
	return nil
}

func cleanIntervention(w *protocol.Intervention) (*protocol.Intervention, string) {
	if w == nil {
		return nil, "a data intervention needs a description, a category and an estimate"
	}
	out := &protocol.Intervention{
		Description:     strings.TrimSpace(stripControls(w.Description)),
		Category:        strings.TrimSpace(stripControls(w.Category)),
		EstimateMinutes: w.EstimateMinutes,
	}
	switch {
	case out.Description == "" || utf8.RuneCountInString(out.Description) > maxDescriptionRunes:
		return nil, "the description must have 1 to 500 characters"
	case out.Category == "" || len(out.Category) > maxCategoryBytes:
		return nil, "the category is missing or too long"
	case out.EstimateMinutes < 1 || out.EstimateMinutes > maxEstimateMinutes:
		return nil, "the estimate must be 1 to 480 minutes"
	}
	return out, ""
}

// stripControls drops control and format characters (safetext) but keeps
// the text's length, unlike cleanText, which also shortens.
func stripControls(s string) string { return safetext.Line(s) }

// boundText bounds agent-supplied text kept as a record: a hostile agent
// must not fill the database.
func boundText(s string) string {
	if len(s) > 8192 {
		s = s[:8192]
	}
	return strings.ToValidUTF8(s, "")
}

// categoryNames names a work category in every language, for the customer.
func (c *consoleConn) categoryNames(ctx context.Context, code string) (map[string]string, string) {
	cats, err := c.h.store.Categories(ctx)
	if err != nil {
		c.h.log.Error("read work categories", "err", err)
		return nil, "could not check the category"
	}
	for _, cat := range cats {
		if cat.Code == code {
			return cat.Names, ""
		}
	}
	return nil, "unknown work category " + code
}
