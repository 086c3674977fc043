// Package storetest gives the tests of other packages what a technician's
// start leaves in the store: a technician, a customer, a ticket and a
// waiting session with a code. Tests of the hub, the cluster, recordings
// and the relay all begin from there.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/store"
)

// Desk is what WaitingSession made.
type Desk struct {
	Tech     store.User
	Customer store.Customer
	Ticket   store.Ticket
	Session  store.Session
}

// WaitingSession adds to st a technician (Tina Peeters), a customer
// (Bakkerij Peeters), a question ticket and a session waiting for the
// code whose hash is codeHash until expires. It fails the test on any
// error.
func WaitingSession(t testing.TB, st *store.Store, codeHash []byte, expires time.Time) Desk {
	t.Helper()
	ctx := store.WithActor(context.Background(), store.Actor{Name: "system"})
	var d Desk
	var err error
	if d.Tech, err = st.CreateUser(ctx, store.User{Email: "tina@example.com", Name: "Tina Peeters", Role: store.RoleTechnician, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	if d.Customer, err = st.CreateCustomer(ctx, store.Customer{Name: "Bakkerij Peeters", Lang: "nl"}); err != nil {
		t.Fatal(err)
	}
	if d.Ticket, err = st.CreateTicket(ctx, store.NewTicket{Title: "Kassa print geen tickets", CustomerID: d.Customer.ID, Kind: "question",
		CategoryID: 1, Priority: "normal", Impact: "medium"}, d.Tech.ID); err != nil {
		t.Fatal(err)
	}
	if d.Session, err = st.CreateSession(ctx, store.NewSession{TicketID: d.Ticket.ID, TechnicianID: d.Tech.ID,
		CodeHash: codeHash, CodeExpires: expires}); err != nil {
		t.Fatal(err)
	}
	return d
}
