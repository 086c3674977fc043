package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meekijk/meekijk/internal/store"
)

// TestBillingPages drives the admin's billing page in Chromium against the
// real relay: a customer's monthly statement with its amount, the chart,
// the CSV download, the printed page without navigation, and the live
// billing of a running session (its timer counts on). The sessions are
// written into the relay's database as the relay would record them.
func TestBillingPages(t *testing.T) {
	r := startRelay(t)
	browser := newBrowser(t)
	tab := newTab(t, browser)
	consoleLogin(t, tab, r)
	apiCall(t, tab, "POST", "/rates/default", map[string]any{"centsPerHour": 8500, "effectiveFrom": "2020-01-01"}, 200)
	var cu, tk struct{ ID int64 }
	json.Unmarshal(apiCall(t, tab, "POST", "/customers", map[string]string{"name": "Brasserie Élodie", "vatNumber": "BE0403170701"}, 201), &cu)
	json.Unmarshal(apiCall(t, tab, "POST", "/tickets", map[string]any{"title": "Kassa", "customerId": cu.ID}, 201), &tk)

	// The relay's database, opened beside it: SQLite serialises the two
	// writers. The clock is set back to write each event at its time.
	var ms atomic.Int64
	st, err := store.OpenWithClock(context.Background(), filepath.Join(r.dataDir, "meekijk.db"), func() time.Time { return time.UnixMilli(ms.Load()) })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	admin, err := st.UserByEmail(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	hold := func(start time.Time, minutes ...int) int64 {
		t.Helper()
		ms.Store(start.Add(-time.Minute).UnixMilli())
		hash := []byte(fmt.Sprint("code ", start.UnixNano()))
		s, err := st.CreateSession(ctx, store.NewSession{TicketID: tk.ID, TechnicianID: admin.ID, CodeHash: hash, CodeExpires: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.RedeemCode(ctx, hash, "agent", nil); err != nil {
			t.Fatal(err)
		}
		ms.Store(start.UnixMilli())
		if err := st.Transition(ctx, s.ID, []string{store.StatusJoined}, store.StatusLive, store.EventConsentGranted, "customer", map[string]string{"level": "view"}); err != nil {
			t.Fatal(err)
		}
		if len(minutes) > 0 {
			ms.Store(start.Add(time.Duration(minutes[0]) * time.Minute).UnixMilli())
			if _, err := st.End(ctx, s.ID, "technician", "technician", ""); err != nil {
				t.Fatal(err)
			}
		}
		return s.ID
	}
	brussels, _ := time.LoadLocation("Europe/Brussels")
	endedAt := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	hold(endedAt, 45) // 45 minutes without a contract: one hour, €85
	live := hold(time.Now().Add(-2 * time.Minute))
	month := endedAt.In(brussels).Format("2006-01")
	perMonth := 1
	if time.Now().In(brussels).Format("2006-01") == month {
		perMonth = 2 // the live session's first hour is in the same month
	}

	run(t, tab, "open the statement",
		chromedp.Navigate(fmt.Sprintf("%s/#/billing?customer=%d&month=%s", r.url, cu.ID, month)),
		chromedp.WaitVisible(chromedp.CSS(`#statement-lines`)),
	)
	if n := eval[int](t, tab, `document.querySelectorAll('#nav-billing').length`); n != 1 {
		t.Errorf("%d billing links in the navigation, want 1", n)
	}
	excl := eval[string](t, tab, `document.getElementById('total-excl').textContent`)
	if want := fmt.Sprintf("%d,00", 85*perMonth); !strings.Contains(excl, want) {
		t.Errorf("total excl. VAT %q, want %s", excl, want)
	}
	if title := eval[string](t, tab, `document.querySelector('#statement h2').textContent`); !strings.Contains(title, "Brasserie Élodie") {
		t.Errorf("statement title %q", title)
	}
	waitJS(t, tab, "the chart is drawn", `(() => { const i = document.getElementById('billing-chart'); return i.complete && i.naturalWidth > 400; })()`, 10*time.Second)
	shot(t, tab, "billing")

	// The download link, fetched as the browser would save it.
	csv := evalAsync[struct {
		BOM  bool   `json:"bom"`
		Text string `json:"text"`
	}](t, tab, `(async () => {
		const b = new Uint8Array(await (await fetch(document.getElementById('export-link').href)).arrayBuffer());
		return { bom: b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf, text: new TextDecoder().decode(b.slice(3)) };
	})()`)
	if !csv.BOM || !strings.Contains(csv.Text, ";Brasserie Élodie;BE0403170701;") {
		t.Errorf("CSV download (BOM %v):\n%s", csv.BOM, csv.Text)
	}

	// Printed, the statement stands alone: the print rules hide the
	// navigation and the forms, and the statement is not among them.
	hidden := eval[[]string](t, tab, `[...document.styleSheets].flatMap((s) => [...s.cssRules])
		.filter((r) => r instanceof CSSMediaRule && r.media.mediaText === 'print')
		.flatMap((r) => [...r.cssRules]).filter((r) => r.style.display === 'none').map((r) => r.selectorText)`)
	sel := strings.Join(hidden, ", ")
	for _, el := range []string{"top", "statement-form", "export", "print"} {
		if !eval[bool](t, tab, fmt.Sprintf(`document.getElementById(%q).matches(%s)`, el, jsString(sel))) {
			t.Errorf("#%s is printed (print rules hide %q)", el, sel)
		}
	}
	if eval[bool](t, tab, fmt.Sprintf(`document.getElementById('statement').matches(%s)`, jsString(sel))) {
		t.Error("the statement is hidden in print")
	}

	// The live billing of the running session, as the session page mounts it.
	evalAsync[bool](t, tab, fmt.Sprintf(`import('/assets/billing.js').then((m) => {
		const d = document.createElement('div');
		document.getElementById('app').append(d);
		window.stopBilling = m.liveBilling(d, %d);
		return true;
	})`, live))
	waitJS(t, tab, "live billing shown", `document.getElementById('billing-badge').textContent !== ''`, 10*time.Second)
	seconds := func() int {
		parts := strings.Split(eval[string](t, tab, `document.getElementById('billing-timer').textContent`), ":")
		h, _ := strconv.Atoi(parts[0])
		m, _ := strconv.Atoi(parts[1])
		s, _ := strconv.Atoi(parts[2])
		return h*3600 + m*60 + s
	}
	first := seconds()
	if first < 115 || first > 200 {
		t.Errorf("timer at %d s, want about 120", first)
	}
	time.Sleep(3100 * time.Millisecond)
	if second := seconds(); second < first+2 || second > first+4 {
		t.Errorf("timer went from %d to %d s in 3.1 s", first, second)
	}
	badge := eval[string](t, tab, `document.getElementById('billing-badge').dataset.covered + ' ' + document.getElementById('billing-reasons').textContent`)
	if badge != "false geen actief onderhoudscontract; de aanvrager is geen aangeduide referentiepersoon" {
		t.Errorf("badge %q", badge)
	}
	shot(t, tab, "billing-live")
	if amount := eval[string](t, tab, `document.getElementById('billing-amount').dataset.cents`); amount != "8500" {
		t.Errorf("amount so far %s cents, want 8500", amount)
	}
	eval[bool](t, tab, `(window.stopBilling(), true)`)
	stopped := seconds()
	time.Sleep(1100 * time.Millisecond)
	if after := seconds(); after != stopped {
		t.Errorf("timer runs on after stop: %d then %d", stopped, after)
	}
}
