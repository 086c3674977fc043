package protocol

import (
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/meekijk/meekijk/internal/sas"
)

// SASCompared says the technician confirmed that the customer read out the
// same verification code (internal/sas) as the console shows. The console
// sends Code; the relay records the code's keyed hash (sas.AuditHash) and
// passes only Hash on to the agent, which checks it against its own code
// and ends the session when they differ. Exactly one of the two is set.
type SASCompared struct {
	Code string `json:"code,omitempty"`
	Hash string `json:"hash,omitempty"`
}

func (SASCompared) Type() string { return "sas_compared" }

// SASCommit is the console's commitment to the certificate it will answer
// the next offer with (sas.Commitment), relayed to the agent, which offers
// only once it holds one and checks the certificate it meets against it.
type SASCommit struct {
	Hash string `json:"hash"`
}

func (SASCommit) Type() string { return "sas_commit" }

func decodeSASCommit(data json.RawMessage) (Message, error) {
	m, err := decodeAs[SASCommit](data)
	if err != nil {
		return nil, err
	}
	if !isSHA256Hex(m.(SASCommit).Hash) {
		return nil, errors.New("hash is not a hex SHA-256")
	}
	return m, nil
}

// ReasonSASMismatch ends a session whose two verification codes differed,
// reported by either side (End.Reason, Status.Reason).
const ReasonSASMismatch = "sas_mismatch"

// decodeSASCompared refuses a code that is not six digits and a hash that
// is not a SHA-256 in hex: the relay hashes and the agent compares only
// well-formed values.
func decodeSASCompared(data json.RawMessage) (Message, error) {
	m, err := decodeAs[SASCompared](data)
	if err != nil {
		return nil, err
	}
	c := m.(SASCompared)
	switch {
	case (c.Code == "") == (c.Hash == ""):
		return nil, errors.New("exactly one of code and hash")
	case c.Code != "" && !sas.Valid(c.Code):
		return nil, errors.New("code is not 6 digits")
	case c.Hash != "" && !isSHA256Hex(c.Hash):
		return nil, errors.New("hash is not a hex SHA-256")
	}
	return c, nil
}

func isSHA256Hex(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32
}
