package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestContractStatusAndRateOnADay(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	admin := mustUser(t, s, "a@x")
	cust := mustCustomer(t, s, "Frituur")
	c, err := s.CreateContract(ctx, Contract{CustomerID: cust.ID, StartsOn: "2026-01-01", EndsOn: "2026-12-31", FeeCents: 1, FeePeriod: "year"}, 8500, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		status, on string
	}{{"suspended", "2026-03-15"}, {"active", "2026-04-01"}, {"cancelled", "2026-10-01"}}
	for _, st := range steps {
		if err := s.SetContractStatus(ctx, c.ID, st.status, st.on, "", admin.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRate(ctx, c.ID, 9000, "2026-07-01", admin.ID); err != nil {
		t.Fatal(err)
	}
	c, err = s.Contract(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		day, status string
		rate        int64
	}{
		{"2025-12-31", "", 0},
		{"2026-01-01", "active", 8500},
		{"2026-03-14", "active", 8500},
		{"2026-03-15", "suspended", 8500}, // suspended mid-month
		{"2026-04-01", "active", 8500},
		{"2026-06-30", "active", 8500},
		{"2026-07-01", "active", 9000}, // the new rate; June keeps the old one
		{"2026-10-01", "cancelled", 9000},
	}
	for _, tc := range cases {
		rate, _ := c.RateOn(tc.day)
		if got := c.StatusOn(tc.day); got != tc.status || rate != tc.rate {
			t.Errorf("%s: status %q rate %d, want %q %d", tc.day, got, rate, tc.status, tc.rate)
		}
	}
	if _, ok, _ := s.ContractOn(ctx, cust.ID, "2027-01-01"); ok {
		t.Error("contract in force after its end")
	}
	if _, ok, _ := s.ContractOn(ctx, cust.ID, "2026-06-01"); !ok {
		t.Error("contract not in force within its term")
	}
}

func TestCoverageOverride(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	admin := mustUser(t, s, "a@x")
	cust := mustCustomer(t, s, "F")
	c, err := s.CreateContract(ctx, Contract{CustomerID: cust.ID, StartsOn: "2026-01-01", FeePeriod: "year"}, 0, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	cats, _ := s.Categories(ctx)
	byCode := map[string]Category{}
	for _, cat := range cats {
		byCode[cat.Code] = cat
	}
	if len(cats) != 10 || !byCode["user_question"].Covered || byCode["database_change"].Covered || byCode["user_error"].Covered {
		t.Fatalf("catalogue defaults wrong: %+v", cats)
	}
	training := byCode["new_staff_training"].ID
	yes := true
	if err := s.SetContractCoverage(ctx, c.ID, training, &yes); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.CategoryCovered(ctx, c.ID, training); !ok {
		t.Error("override to covered not applied")
	}
	if got, _ := s.Contract(ctx, c.ID); len(got.Coverage) != 1 || !got.Coverage[training] {
		t.Errorf("contract coverage %v, want the one override", got.Coverage)
	}
	if err := s.SetContractCoverage(ctx, c.ID, training, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.CategoryCovered(ctx, c.ID, training); ok {
		t.Error("removing the override did not restore the default")
	}
	if err := s.SetContractCoverage(ctx, 999, training, &yes); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown contract: %v", err)
	}
}

func TestLastAdminStaysAndDeactivationEndsLogins(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	if _, err := s.BootstrapAdmin(ctx, User{Email: "admin", Name: "Admin", PasswordHash: "h"}, 0); err != nil {
		t.Fatal(err)
	}
	admin, _ := s.UserByEmail(ctx, "admin")
	admin.Role = RoleTechnician
	if _, err := s.UpdateUser(ctx, admin); !errors.Is(err, ErrConflict) {
		t.Fatalf("demoting the last admin: %v, want ErrConflict", err)
	}
	tech := mustUser(t, s, "t@x")
	if err := s.CreateLogin(ctx, []byte("tok"), tech.ID, "csrf", c.now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tech.Active = false
	if _, err := s.UpdateUser(ctx, tech); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoginByToken(ctx, []byte("tok")); !errors.Is(err, ErrNotFound) {
		t.Errorf("deactivated user's login still valid: %v", err)
	}
}

func TestUpdateTicketRecordsHistoryAndRefusesForeignContact(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	u := mustUser(t, s, "t@x")
	a, b := mustCustomer(t, s, "A"), mustCustomer(t, s, "B")
	otherContact, err := s.CreateContact(ctx, Contact{CustomerID: b.ID, Name: "Bea", Lang: "nl"})
	if err != nil {
		t.Fatal(err)
	}
	tk := mustTicket(t, s, a.ID, u.ID, "Printer")
	kind, status := "problem", "in_progress"
	if _, err := s.UpdateTicket(ctx, tk.ID, TicketChanges{Kind: &kind, Status: &status}, u.ID); err != nil {
		t.Fatal(err)
	}
	var fe *FieldError
	if _, err := s.UpdateTicket(ctx, tk.ID, TicketChanges{ContactID: &otherContact.ID}, u.ID); !errors.As(err, &fe) || fe.Field != "contactId" {
		t.Fatalf("another customer's contact: %v, want a FieldError on contactId", err)
	}
	h, err := s.TicketHistory(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Field != "kind" || h[0].OldValue != "question" || h[0].NewValue != "problem" || h[1].Field != "status" || h[0].ActorID != u.ID {
		t.Fatalf("history %+v", h)
	}
	got, _ := s.Ticket(ctx, tk.ID)
	if got.ContactID != 0 || got.Kind != "problem" {
		t.Errorf("refused change half-applied: %+v", got)
	}
}
