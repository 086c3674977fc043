package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/meekijk/meekijk/internal/store"
)

// TestOneLiveCodePerTicket: asking again for a code on a ticket ends the
// session still waiting for the first one (that code stops working),
// and while the customer is connected no second code is handed out.
func TestOneLiveCodePerTicket(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	tk := e.createTicket(c, "Kassa", "Bakkerij")
	path := fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID)
	var first, second struct {
		Session  session
		Code     string
		Replaced []int64
	}
	e.do(c, "POST", path, "").decode(t, &first)
	e.do(c, "POST", path, "").decode(t, &second)
	if len(second.Replaced) != 1 || second.Replaced[0] != first.Session.ID {
		t.Fatalf("second code replaced %v, want [%d]", second.Replaced, first.Session.ID)
	}
	ctx := context.Background()
	old, err := e.st.Session(ctx, first.Session.ID)
	if err != nil || old.Status != store.StatusEnded {
		t.Fatalf("first session after a new code: %q, %v; want ended", old.Status, err)
	}
	digits := func(code string) string { return strings.ReplaceAll(code, " ", "") }
	if _, err := e.st.RedeemCode(ctx, codes.Hash(digits(first.Code)), "agent", nil); !errors.Is(err, store.ErrSessionOver) {
		t.Errorf("the replaced code still works: %v", err)
	}
	if _, err := e.st.RedeemCode(ctx, codes.Hash(digits(second.Code)), "agent", nil); err != nil {
		t.Fatalf("the live code: %v", err)
	}
	a := e.do(c, "POST", path, "")
	if p := a.problem(t); a.status != http.StatusConflict || p.Error != "session_running" {
		t.Fatalf("a code while the customer is connected: %d %s", a.status, a.body)
	}
}

// Two starts for one ticket at the same instant (a double click, two tabs)
// still leave one code that works: the check and the new code are one
// transaction.
func TestStartsAtOnceLeaveOneCode(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	tk := e.createTicket(c, "Kassa", "Bakkerij")
	path := fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID)
	const starts = 4
	var wg sync.WaitGroup
	statuses := make([]int, starts)
	for i := range starts {
		wg.Go(func() { statuses[i] = e.do(c, "POST", path, "").status })
	}
	wg.Wait()
	sessions, err := e.st.SessionsForTicket(context.Background(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	waiting := 0
	for _, s := range sessions {
		if s.Status == store.StatusWaiting {
			waiting++
		}
	}
	if waiting != 1 {
		t.Errorf("%d sessions waiting with a live code after %d starts at once (answers %v), want 1", waiting, starts, statuses)
	}
	for _, st := range statuses {
		if st != http.StatusCreated {
			t.Errorf("answers %v: each start gets its code, the later replacing the earlier", statuses)
			break
		}
	}
}
