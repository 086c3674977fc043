package hub_test

import (
	"testing"

	"github.com/meekijk/meekijk/internal/protocol"
)

// The consent question is built from what the agent is told on joining:
// even a ticket title or technician name written straight into the
// database, past the console's cleaning, reaches it without bidi or other
// format characters.
func TestJoinedCarriesNoFormatCharacters(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.DB().Exec("UPDATE tickets SET title = 'Factuur\u202efdp.exe'"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.DB().Exec("UPDATE users SET name = 'Tina\u2067 Peeters\u2069' WHERE id = ?", e.tech.ID); err != nil {
		t.Fatal(err)
	}
	a := e.helloAgent(machine)
	a.send(t, protocol.Join{Code: theCode})
	j := expect[protocol.Joined](t, a)
	if j.TicketTitle != "Factuurfdp.exe" || j.Technician != "Tina Peeters" {
		t.Errorf("joined title %q, technician %q", j.TicketTitle, j.Technician)
	}
}
