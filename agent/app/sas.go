package app

import (
	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sas"
)

// heldOffer is an offer waiting for the console's commitment.
type heldOffer struct {
	gate  *candidateGate
	offer protocol.Offer
}

// offerCommitted sends a new connection's offer once the agent holds a
// commitment to the certificate that will answer it, which it has not used
// for an earlier offer: the offer reveals the agent's fingerprint, and a
// relay in the middle must have fixed its own before it saw it
// (sas.Commitment). ICE restarts keep the certificates and do not wait.
func (a *App) offerCommitted(gate *candidateGate, offer protocol.Offer) {
	if a.sasCommit == "" {
		a.log.Info("offer held until the console commits to its certificate")
		a.sasOffer = &heldOffer{gate: gate, offer: offer}
		return
	}
	a.sasUsed, a.sasLast, a.sasCommit = a.sasCommit, a.sasCommit, ""
	gate.open(offer)
}

func (a *App) onSASCommit(m protocol.SASCommit) {
	if m.Hash == a.sasLast {
		return
	}
	a.sasCommit = m.Hash
	if h := a.sasOffer; h != nil && h.gate == a.gate {
		a.sasOffer = nil
		a.offerCommitted(h.gate, h.offer)
	}
}

// showSAS puts the running connection's verification code on the
// customer's page, from the moment its first frame went out: the customer
// reads it to the technician, who compares it with the console's. A peer
// whose certificate is not the one committed to is someone else than the
// console that committed: sharing stops.
func (a *App) showSAS() {
	local, remote, err := a.sender.Fingerprints()
	if err != nil {
		// The first frame went out, so DTLS is up: this is a bug, and the
		// page shows no code rather than a wrong one.
		a.log.Error("verification code", "err", err)
		return
	}
	if sas.Commitment(remote) != a.sasUsed {
		a.log.Warn("the peer's certificate is not the one the console committed to: ending the session")
		a.endByCustomer(protocol.ReasonSASMismatch)
		a.publish()
		return
	}
	code := sas.Code(local, remote)
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
