package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
)

func TestTimelineReadsTheStoresEventWords(t *testing.T) {
	for store, bill := range map[string]string{
		EventConsentGranted: billing.EventConsentGranted, EventConsentRevoked: billing.EventConsentRevoked,
		EventHandover: billing.EventHandover, EventLinkDown: billing.EventLinkDown, EventLinkUp: billing.EventLinkUp,
		EventEnded: billing.EventEnded,
	} {
		if store != bill {
			t.Errorf("store writes %q, billing reads %q", store, bill)
		}
	}
}

var brussels = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at reads "2026-03-03 10:00" as Brussels time.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, brussels)
	if err != nil {
		panic(err)
	}
	return t
}

// step is an event some minutes after the previous one; "ended" ends the
// session.
type step struct {
	after  time.Duration
	kind   string
	detail any
}

func later(min int, kind string, detail any) step {
	return step{time.Duration(min) * time.Minute, kind, detail}
}

// workSession holds a session on the ticket through the store, with the
// store's clock: the agent joins just before start, the customer allows
// viewing at start, then the steps follow.
func workSession(t *testing.T, s *Store, c *clock, ticketID, techID int64, start time.Time, steps ...step) Session {
	t.Helper()
	ctx := context.Background()
	c.ms.Store(start.Add(-2 * time.Minute).UnixMilli())
	hash := code(fmt.Sprint(ticketID, start))
	sess, err := s.CreateSession(ctx, NewSession{TicketID: ticketID, TechnicianID: techID, CodeHash: hash, CodeExpires: c.now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute)
	if _, err := s.RedeemCode(ctx, hash, "agent", nil); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute)
	if err := s.Transition(ctx, sess.ID, []string{StatusJoined}, StatusLive, EventConsentGranted, "customer", map[string]string{"level": "view"}); err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		c.advance(st.after)
		if st.kind == EventEnded {
			if _, err := s.End(ctx, sess.ID, "technician", "technician", ""); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := s.AddEvent(ctx, sess.ID, st.kind, "customer", st.detail); err != nil {
			t.Fatal(err)
		}
	}
	return sess
}

func control() map[string]string { return map[string]string{"level": "control"} }

func TestBilling(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	c.ms.Store(at("2026-01-01 08:00").UnixMilli())
	tina, jan := mustUser(t, s, "tina@x"), mustUser(t, s, "jan@x")
	garage, bakkerij := mustCustomer(t, s, "Garage Claes"), mustCustomer(t, s, "bakkerij Peeters")
	contract, err := s.CreateContract(ctx, Contract{CustomerID: garage.ID, StartsOn: "2026-01-01", FeePeriod: "year"}, 8500, tina.ID)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.CreateContact(ctx, Contact{CustomerID: garage.ID, Name: "Marc", Lang: "nl", ReferenceRole: "general"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s.CreateContact(ctx, Contact{CustomerID: garage.ID, Name: "Stagiair", Lang: "nl"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddRate(ctx, 0, 8000, "2026-01-01", tina.ID); err != nil {
		t.Fatal(err)
	}
	ticket := func(customer, contact int64) Ticket {
		tk, err := s.CreateTicket(ctx, NewTicket{Title: "Kassa", CustomerID: customer, ContactID: contact, Kind: "question",
			CategoryID: 1, Priority: "normal", Impact: "medium"}, tina.ID)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	a1, a2, b1 := ticket(garage.ID, ref.ID), ticket(garage.ID, plain.ID), ticket(bakkerij.ID, 0)

	// Garage: the reference person's user question, 10 minutes viewing
	// and 20 of control: covered.
	s1 := workSession(t, s, c, a1.ID, tina.ID, at("2026-03-03 10:00"), later(10, EventConsentGranted, control()), later(20, EventEnded, nil))
	// The trainee's: billable.
	s2 := workSession(t, s, c, a2.ID, tina.ID, at("2026-03-04 10:00"), later(30, EventEnded, nil))
	// A week later the reference person's ticket turns out to be a database
	// change; the session after that is billable, the one before stays
	// covered.
	c.ms.Store(at("2026-03-10 09:00").UnixMilli())
	dbChange := int64(4)
	if _, err := s.UpdateTicket(ctx, a1.ID, TicketChanges{CategoryID: &dbChange}, tina.ID); err != nil {
		t.Fatal(err)
	}
	s3 := workSession(t, s, c, a1.ID, tina.ID, at("2026-03-11 10:00"), later(40, EventEnded, nil))

	// Bakkerij, no contract: Tina 15 minutes, the agent away 10, Jan 20.
	s4 := workSession(t, s, c, b1.ID, tina.ID, at("2026-03-05 14:00"),
		later(15, EventLinkDown, nil), later(10, EventLinkUp, nil),
		later(0, EventHandover, map[string]any{"technicianId": jan.ID, "technician": jan.Name}), later(20, EventEnded, nil))
	// Outside March: the last days of February, and 00:30 on 1 April in
	// Brussels, which is still 31 March in UTC.
	workSession(t, s, c, b1.ID, tina.ID, at("2026-02-27 10:00"), later(30, EventEnded, nil))
	workSession(t, s, c, b1.ID, tina.ID, at("2026-04-01 00:30"), later(30, EventEnded, nil))
	// The customer never joined: no worked time.
	c.ms.Store(at("2026-03-06 10:00").UnixMilli())
	unjoined, err := s.CreateSession(ctx, NewSession{TicketID: b1.ID, TechnicianID: tina.ID, CodeHash: code("declined"), CodeExpires: c.now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	// Live: the customer allowed viewing at 16:00 and still shares.
	live := workSession(t, s, c, b1.ID, jan.ID, at("2026-03-31 16:00"))

	set, err := s.BillingSettings(ctx, "Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	now := at("2026-03-31 16:45")
	march := BillingFilter{From: at("2026-03-01 00:00"), To: at("2026-04-01 00:00")}
	got, err := s.Billing(ctx, march, set, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Customer.ID != bakkerij.ID || got[1].Customer.ID != garage.ID {
		t.Fatalf("customers %+v, want bakkerij then Garage (by name, any case)", got)
	}
	ids := func(cb CustomerBilling) (out []int64) {
		for _, b := range cb.Sessions {
			out = append(out, b.Session.ID)
		}
		return out
	}
	if !slices.Equal(ids(got[0]), []int64{s4.ID, live.ID}) || !slices.Equal(ids(got[1]), []int64{s1.ID, s2.ID, s3.ID}) {
		t.Fatalf("March sessions %v and %v, want %v and %v", ids(got[0]), ids(got[1]), []int64{s4.ID, live.ID}, []int64{s1.ID, s2.ID, s3.ID})
	}

	// Garage: three sets of facts, three parts.
	g := got[1]
	if len(g.Parts) != 3 {
		t.Fatalf("%d parts, want 3: %+v", len(g.Parts), g.Parts)
	}
	for i, want := range []struct {
		ref, covered bool
	}{{true, true}, {false, true}, {true, false}} {
		p := g.Parts[g.Sessions[i].Part]
		if p.Contract == nil || p.ReferencePerson != want.ref || p.CategoryCovered != want.covered || p.Customer != "Garage Claes" {
			t.Errorf("session %d billed as %+v, want reference %v, covered %v", g.Sessions[i].Session.ID, p, want.ref, want.covered)
		}
	}
	st, err := billing.ComputeAll(g.Customer.Name, set, g.Parts)
	if err != nil {
		t.Fatal(err)
	}
	// 30 minutes covered; 30 and 40 billable minutes, an hour each at €85.
	if st.Totals.CoveredSeconds != 1800 || st.Totals.BilledMinutes != 120 || st.Totals.AmountCents != 17000 {
		t.Errorf("Garage totals %+v", st.Totals)
	}
	if c := g.Parts[0].Contract; c.StartsOn != contract.StartsOn || len(c.Rates) != 1 || c.Rates[0].CentsPerHour != 8500 {
		t.Errorf("contract %+v", c)
	}

	// Bakkerij: the hand-over and the disconnect are in the segments; the
	// live session runs to now.
	b := got[0]
	segs := b.Sessions[0].Segments
	if len(segs) != 2 || segs[0].Technician.ID != tina.ID || segs[0].Seconds() != 15*60 ||
		segs[1].Technician.ID != jan.ID || segs[1].Seconds() != 20*60 || b.Sessions[0].Live {
		t.Errorf("session %d segments %+v", s4.ID, segs)
	}
	lv := b.Sessions[1]
	if !lv.Live || !lv.End.Equal(now) || len(lv.Segments) != 1 || lv.Segments[0].Seconds() != 45*60 || lv.Segments[0].Technician.Name != jan.Name {
		t.Errorf("live session %+v", lv)
	}
	if b.Parts[0].Contract != nil || b.Parts[0].ReferencePerson || len(b.Parts) != 1 {
		t.Errorf("Bakkerij parts %+v", b.Parts)
	}
	st, err = billing.ComputeAll(b.Customer.Name, set, b.Parts)
	if err != nil {
		t.Fatal(err)
	}
	// 35 and 45 minutes at the default €80: an hour each.
	if st.Totals.BilledMinutes != 120 || st.Totals.AmountCents != 16000 {
		t.Errorf("Bakkerij totals %+v", st.Totals)
	}

	// One customer.
	only, err := s.Billing(ctx, BillingFilter{From: march.From, To: march.To, CustomerID: garage.ID}, set, now)
	if err != nil || len(only) != 1 || only[0].Customer.ID != garage.ID || !slices.Equal(ids(only[0]), []int64{s1.ID, s2.ID, s3.ID}) {
		t.Errorf("Garage only: %d customers, %v", len(only), err)
	}
	// One session without a period: the unjoined one is there, with no
	// worked time.
	one, err := s.Billing(ctx, BillingFilter{SessionID: unjoined.ID}, set, now)
	if err != nil || len(one) != 1 || !slices.Equal(ids(one[0]), []int64{unjoined.ID}) || len(one[0].Sessions[0].Segments) != 0 || one[0].Sessions[0].Live {
		t.Errorf("unjoined session: %d customers, %v", len(one), err)
	}
	// A ticket's sessions, of every month.
	all, err := s.Billing(ctx, BillingFilter{TicketID: b1.ID}, set, now)
	if err != nil || len(all) != 1 || len(all[0].Sessions) != 5 {
		t.Fatalf("ticket sessions: %d customers, %v", len(all), err)
	}
	if len(all[0].Parts) != 3 {
		t.Errorf("ticket over three months in %d parts, want one per month", len(all[0].Parts))
	}
}

func TestBillingSettings(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	admin := mustUser(t, s, "a@x")
	set, err := s.BillingSettings(ctx, "Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	def := billing.Defaults()
	if set.Location.String() != "Europe/Brussels" || set.IncrementMinutes != def.IncrementMinutes || set.MinimumMinutes != def.MinimumMinutes ||
		set.VATPercent != def.VATPercent || set.MergeTicketDay || len(set.DefaultRates) != 0 {
		t.Errorf("defaults %+v", set)
	}
	if err := s.SetSetting(ctx, settingBilling, `{"mergeTicketDay": true, "vatPercent": 6, "timeZone": "UTC"}`); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRate(ctx, 0, 9000, "2026-01-01", admin.ID); err != nil {
		t.Fatal(err)
	}
	set, err = s.BillingSettings(ctx, "Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	// The calendar's time zone wins over one saved with the rules.
	if !set.MergeTicketDay || set.VATPercent != 6 || set.IncrementMinutes != 15 || set.TimeZone != "Europe/Paris" ||
		set.Location.String() != "Europe/Paris" || len(set.DefaultRates) != 1 || set.DefaultRates[0].CentsPerHour != 9000 {
		t.Errorf("saved rules %+v", set)
	}
	if _, err := s.BillingSettings(ctx, "Europe/Gent"); err == nil {
		t.Error("an unknown time zone is accepted")
	}
	if _, err := s.BillingSettings(ctx, ""); err == nil {
		t.Error("no time zone is accepted")
	}
}

// A category changed during a session bills from the change on: the time
// before it stays covered, as the customer's cost notice said.
func TestCategoryChangedMidSessionBillsFromTheChange(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	c.ms.Store(at("2026-01-01 08:00").UnixMilli())
	tina := mustUser(t, s, "tina@x")
	garage := mustCustomer(t, s, "Garage Claes")
	if _, err := s.CreateContract(ctx, Contract{CustomerID: garage.ID, StartsOn: "2026-01-01", FeePeriod: "year"}, 8500, tina.ID); err != nil {
		t.Fatal(err)
	}
	ref, err := s.CreateContact(ctx, Contact{CustomerID: garage.ID, Name: "Marc", Lang: "nl", ReferenceRole: "general"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := s.CreateTicket(ctx, NewTicket{Title: "Kassa", CustomerID: garage.ID, ContactID: ref.ID, Kind: "question",
		CategoryID: 1, Priority: "normal", Impact: "medium"}, tina.ID)
	if err != nil {
		t.Fatal(err)
	}
	// 20 minutes of covered control, then the technician finds a database
	// change (category 4, not covered), and 20 more minutes.
	sess := workSession(t, s, c, tk.ID, tina.ID, at("2026-03-03 10:00"), later(0, EventConsentGranted, control()))
	c.advance(20 * time.Minute)
	dbChange := int64(4)
	if _, err := s.UpdateTicket(ctx, tk.ID, TicketChanges{CategoryID: &dbChange}, tina.ID); err != nil {
		t.Fatal(err)
	}
	c.advance(20 * time.Minute)
	if _, err := s.End(ctx, sess.ID, "technician", "technician", ""); err != nil {
		t.Fatal(err)
	}
	set, err := s.BillingSettings(ctx, "Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Billing(ctx, BillingFilter{SessionID: sess.ID}, set, c.now())
	if err != nil || len(got) != 1 {
		t.Fatalf("billing %v, %v", got, err)
	}
	st, err := billing.ComputeAll(got[0].Customer.Name, set, got[0].Parts)
	if err != nil {
		t.Fatal(err)
	}
	// 20 minutes covered; 20 billable, billed as the 60-minute minimum at €85.
	if st.Totals.CoveredSeconds != 1200 || st.Totals.BilledMinutes != 60 || st.Totals.AmountCents != 8500 {
		t.Errorf("totals %+v, want 1200 s covered and 60 min billed for €85", st.Totals)
	}
}
