package app

import (
	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sas"
)

// showSAS puts the running connection's verification code on the
// customer's page, from the moment its first frame went out: the customer
// reads it to the technician, who compares it with the console's.
func (a *App) showSAS() {
	code, err := a.sender.VerificationCode()
	if err != nil {
		// The first frame went out, so DTLS is up: this is a bug, and the
		// page shows no code rather than a wrong one.
		a.log.Error("verification code", "err", err)
		return
	}
	a.state.SAS, a.state.SASConfirmed = code, false
	a.log.Info("verification code shown", "code", code)
	a.publish()
}

// onSASCompared checks the technician's confirmation against the agent's
// own code. The relay only relays it: a hash of another code means the
// console saw another connection (a man in the middle) or confirmed a code
// nobody read, and the agent ends the session itself, whatever the relay
// says next.
func (a *App) onSASCompared(m protocol.SASCompared) {
	if a.state.SAS == "" || a.joined == nil {
		// The connection it was about was replaced before the word came.
		a.log.Info("codes compared for a connection no longer up: ignored")
		return
	}
	if m.Hash != sas.AuditHash(a.joined.SessionID, a.state.SAS) {
		a.log.Warn("the technician confirmed another verification code: ending the session")
		a.endByCustomer(protocol.ReasonSASMismatch)
		return
	}
	a.state.SASConfirmed = true
}

// onSASMismatch is the customer's "the code differs": sharing stops at
// once, and the relay is told why.
func (a *App) onSASMismatch() {
	if a.state.Phase != localui.PhaseSharing || a.state.SAS == "" {
		return
	}
	a.log.Warn("the customer reports another verification code: ending the session")
	a.endByCustomer(protocol.ReasonSASMismatch)
}
