package console_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/mail/mailtest"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/testrig"
)

// smtpServer is a real SMTP server on loopback (mailtest) that requires
// AUTH PLAIN as desk/geheim; next parses what it receives.
type smtpServer struct{ *mailtest.Server }

func startSMTP(t *testing.T, addr string) *smtpServer {
	return &smtpServer{mailtest.Start(t, addr, "desk", "geheim", nil)}
}

// next waits for the next delivered mail: its header and decoded body.
func (s *smtpServer) next(t *testing.T, e *env) (*netmail.Message, string) {
	t.Helper()
	for range 100 {
		e.mail.Wake()
		select {
		case raw := <-s.Received:
			m, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
			if err != nil {
				t.Fatal(err)
			}
			return m, string(body)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatal("no mail arrived")
	return nil, ""
}

var linkRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+/\S+`)

// TestMailFlows: the desk's SMTP settings (password sealed), a ticket's
// confirmation held while the mail server is down and delivered once it
// is up, an estimate over an hour mailed and approved through its link in
// Chromium, and the receipt after the session. Each sent mail is an audit
// event.
func TestMailFlows(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAs(store.RoleAdmin, "admin@desk.example")
	tech := e.login()
	d := e.desk(admin)

	// A port with no server behind it, yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	settings := map[string]any{"host": "127.0.0.1", "port": addr.Port, "startTLS": false, "user": "desk", "password": "geheim",
		"from": "support@desk.example", "publicUrl": e.srv.URL}
	if a := e.do(admin, "PUT", "/api/v1/settings/mail", mustJSON(t, map[string]any{"host": "", "port": 25})); a.status != 400 || a.problem(t).Field != "host" {
		t.Errorf("settings without a host: %d %s", a.status, a.body)
	}
	var got struct {
		PasswordSet bool
		Password    string
	}
	e.call(admin, "PUT", "/api/v1/settings/mail", settings, 200, &got)
	if !got.PasswordSet || got.Password != "" {
		t.Errorf("settings answer %+v", got)
	}
	var stored string
	if err := e.st.DB().QueryRow("SELECT value FROM settings WHERE key = 'smtp'").Scan(&stored); err != nil || strings.Contains(stored, "geheim") {
		t.Fatalf("the password is stored in clear: %s (%v)", stored, err)
	}
	if fi, err := os.Stat(e.dir + "/mail.key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mail.key: %v %v", fi.Mode(), err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.mail.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	// The server is down: the confirmation waits in the queue.
	var tk ticketDetail
	e.call(tech, "POST", "/api/v1/tickets", map[string]any{"title": "Kassa start niet", "customerId": d.customer, "contactId": d.reference}, 201, &tk)
	var queue struct{ Queue []store.Mail }
	for i := 0; ; i++ {
		e.mail.Wake()
		e.call(admin, "GET", "/api/v1/settings/mail", nil, 200, &queue)
		if len(queue.Queue) == 1 && queue.Queue[0].Attempts > 0 {
			break
		}
		if i == 100 {
			t.Fatalf("the first attempt was not made: %+v", queue.Queue)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if q := queue.Queue[0]; !q.SentAt.IsZero() || q.LastError == "" {
		t.Fatalf("queued mail %+v", q)
	}

	// Up again; the retry is due after the backoff.
	srv := startSMTP(t, addr.String())
	e.clk.advance(31 * time.Second)
	m, body := srv.next(t, e)
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if m.Header.Get("To") != "marcel@frituur.example" || m.Header.Get("From") != "support@desk.example" ||
		m.Header.Get("Content-Language") != "fr" || subject != "Votre demande "+tk.Reference+" est enregistrée" {
		t.Errorf("confirmation headers %v, subject %q", m.Header, subject)
	}
	link := linkRE.FindString(body)
	if !strings.Contains(body, "Votre numéro de référence est "+tk.Reference) || !strings.Contains(link, "/status/"+tk.Reference+"/") {
		t.Fatalf("confirmation body:\n%s", body)
	}
	if a := e.do(client{origin: e.srv.URL}, "GET", strings.TrimPrefix(link, e.srv.URL), ""); a.status != 200 || !strings.Contains(string(a.body), tk.Reference) {
		t.Errorf("the status link: %d", a.status)
	}

	// A contact who is not a reference person: the work is billable. An
	// estimate of 90 minutes waits for approval, by mail, in Dutch.
	var julie struct{ ID int64 }
	e.call(admin, "POST", fmt.Sprintf("/api/v1/customers/%d/contacts", d.customer),
		map[string]string{"name": "Julie Claes", "email": "julie@frituur.example", "lang": "nl"}, 201, &julie)
	var tk2 ticketDetail
	e.call(tech, "POST", "/api/v1/tickets", map[string]any{"title": "Databank herstellen", "customerId": d.customer, "contactId": julie.ID}, 201, &tk2)
	if m, _ := srv.next(t, e); m.Header.Get("Content-Language") != "nl" {
		t.Errorf("Julie's confirmation in %q", m.Header.Get("Content-Language"))
	}
	var est struct {
		ID          int64
		AmountCents int64
		Mailed      bool
	}
	e.call(tech, "POST", fmt.Sprintf("/api/v1/tickets/%d/estimates", tk2.ID), map[string]any{"minutes": 90, "description": "Indexen herbouwen"}, 201, &est)
	if !est.Mailed || est.AmountCents != 12750 {
		t.Fatalf("estimate %+v", est)
	}
	m, body = srv.next(t, e)
	subject, _ = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	link = linkRE.FindString(body)
	if subject != "Uw goedkeuring gevraagd: schatting voor "+tk2.Reference || !strings.Contains(body, "€ 127,50 exclusief btw") ||
		!strings.Contains(link, "/estimate/") {
		t.Fatalf("estimate mail %q:\n%s", subject, body)
	}

	// Approve through the link in a real browser: the box must be ticked.
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("no /usr/bin/chromium: the approval link is not tried in a browser")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), testrig.ChromiumOptions(t.TempDir())...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	bctx, cancelRun := context.WithTimeout(browser, 60*time.Second)
	defer cancelRun()
	step := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	read := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	step("open the link", chromedp.Navigate(link))
	text := read("#estimate-text")
	step("approve unticked", chromedp.Click(chromedp.CSS("#approve"))) // the browser refuses to submit
	step("wait", chromedp.Sleep(300*time.Millisecond))
	formStill, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("form").length`))
	if err != nil {
		t.Fatal(err)
	}
	step("tick", chromedp.Click(chromedp.CSS("#accept")))
	step("approve", chromedp.Click(chromedp.CSS("#approve")))
	step("approved", chromedp.WaitVisible(chromedp.CSS("#approved")))
	approved := read("#approved")
	if formStill != 1 || !strings.Contains(text, "€ 127,50") || !strings.HasPrefix(approved, "Goedgekeurd op") {
		t.Errorf("page: form %d, text %q, approved %q", formStill, text, approved)
	}
	ests, err := e.st.Estimates(context.Background(), tk2.ID)
	if err != nil || len(ests) != 1 || ests[0].Approval == nil {
		t.Fatalf("estimates %+v (%v)", ests, err)
	}
	a := ests[0].Approval
	sum := sha256.Sum256([]byte(a.Text))
	if a.Text != text || a.Lang != "nl" || a.Version != "estimate-mail-1" || a.TextSHA256 != hex.EncodeToString(sum[:]) ||
		a.By != fmt.Sprintf("contact:%d", julie.ID) {
		t.Errorf("approval %+v", a)
	}

	// After a session, the receipt.
	e.hold(tk2.ID, after(20*time.Minute, store.EventEnded, nil))
	m, body = srv.next(t, e)
	subject, _ = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if subject != "Ontvangstbewijs van uw sessie voor "+tk2.Reference || !strings.Contains(body, "Gewerkt: 20 minuten; aangerekend: 60 minuten") {
		t.Errorf("receipt %q:\n%s", subject, body)
	}

	// The worker records a mail sent once the server said goodbye, just
	// after the message arrived.
	var sent []audit.Entry
	for range 50 {
		if sent, err = e.st.AuditEntries(context.Background(), store.AuditFilter{Events: []string{store.EventMailSent}}); err != nil || len(sent) == 4 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || len(sent) != 4 {
		t.Errorf("%d mail.sent events (%v)", len(sent), err)
	}
	approvedEv, err := e.st.AuditEntries(context.Background(), store.AuditFilter{Events: []string{store.EventEstimateApproved}})
	if err != nil || len(approvedEv) != 1 {
		t.Errorf("%d estimate.approved events (%v)", len(approvedEv), err)
	}
}
