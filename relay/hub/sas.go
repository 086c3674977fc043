package hub

import (
	"context"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sas"
)

// EventSASCompared records that the technician confirmed the customer read
// the same verification code: {"hash": sas.AuditHash(session, code)}.
const EventSASCompared = "sas_compared"

// noteOffer forgets the media of the connection an offer replaces: a new
// connection has new certificates, so no code exists until its first frame.
// An ICE restart keeps the DTLS connection, and its code.
func (r *room) noteOffer(m protocol.Message) {
	if o, ok := m.(protocol.Offer); ok && !o.Restart {
		r.setMedia(false)
	}
}

func (r *room) setMedia(on bool) {
	r.mu.Lock()
	r.media = on
	r.mu.Unlock()
}

// sasCompared records the technician's "the customer read the same code"
// and tells the agent the code's hash, which the agent checks against its
// own. Only a console that can have seen a code may say so: the session is
// live and media flows on the connection now up. The relay cannot know
// whether the code is right; the agent decides that.
func (c *consoleConn) sasCompared(ctx context.Context, m protocol.SASCompared) error {
	if m.Code == "" { // a hash is the relay's word to the agent, not the console's
		return c.conn.Send(protocol.Error{Code: protocol.ErrBadMessage, Message: "sas_compared from the console carries the code"})
	}
	r := c.room
	r.mu.Lock()
	ok, agent := r.live && r.media, r.agent
	r.mu.Unlock()
	if !ok || agent == nil {
		return c.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "sas_compared before media flows"})
	}
	hash := sas.AuditHash(r.id, m.Code)
	if err := c.h.store.AddEvent(ctx, r.id, EventSASCompared, c.actor, map[string]string{"hash": hash}); err != nil {
		c.h.log.Error("record sas_compared", "session", r.id, "err", err)
		return c.conn.Send(protocol.Error{Code: protocol.ErrInternal, Message: "could not record the comparison"})
	}
	_ = agent.Send(protocol.SASCompared{Hash: hash}) // a closed link is the link code's to handle
	return nil
}
