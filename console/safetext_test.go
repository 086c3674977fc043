package console_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode"
)

// bidi holds the characters that make text read as something else than
// it is: overrides, isolates, marks, a zero-width joiner, a BOM.
const bidi = "\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u202a\u200d\ufeff"

func hasFormat(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cf, r) })
}

// Names and titles staff type lose their bidi and format characters before
// they are stored, so neither the customer's consent question (built from
// the stored ticket title and technician name), nor the status page, nor
// the console shows them.
func TestFormatCharactersNeverStored(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.DB().Exec("UPDATE users SET role = 'admin'"); err != nil {
		t.Fatal(err)
	}
	c := e.login()
	post := func(method, path string, body map[string]any) []byte {
		t.Helper()
		b, _ := json.Marshal(body)
		a := e.do(c, method, path, string(b))
		if a.status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, a.status, a.body)
		}
		return a.body
	}
	var cust struct{ ID int64 }
	json.Unmarshal(post("POST", "/api/v1/customers", map[string]any{"name": "Bakkerij " + bidi + "Peeters"}), &cust)
	post("POST", fmt.Sprintf("/api/v1/customers/%d/contacts", cust.ID), map[string]any{"name": "Marie\u202e sneeP"})
	post("PUT", fmt.Sprintf("/api/v1/users/%d", e.user.ID), map[string]any{"name": "Tina\u2067 Peeters\u2069", "role": "admin"})
	var tk struct {
		ID        int64
		StatusURL string
	}
	json.Unmarshal(post("POST", "/api/v1/tickets", map[string]any{"title": "Factuur\u202efdp.exe", "customerId": cust.ID}), &tk)
	post("POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), nil)

	// The rows the hub builds the consent question from, and the
	// customer's status page.
	rows, err := e.st.DB().Query(`SELECT name FROM customers UNION ALL SELECT name FROM contacts
		UNION ALL SELECT name FROM users UNION ALL SELECT title FROM tickets`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		n++
		if hasFormat(s) {
			t.Errorf("stored %q keeps format characters", s)
		}
	}
	if n < 4 {
		t.Fatalf("only %d rows read", n)
	}
	resp, err := http.Get(e.srv.URL + tk.StatusURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Factuurfdp.exe") || hasFormat(string(page)) {
		t.Errorf("status page (%d) shows the title with format characters or not at all", resp.StatusCode)
	}
	s, err := e.st.Session(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if hasFormat(s.TicketTitle + s.TechnicianName + s.CustomerName) {
		t.Errorf("the session the agent is told about: %q %q %q", s.TicketTitle, s.TechnicianName, s.CustomerName)
	}
}

// Text that reached the database past the console's cleaning (stored by
// an older relay, or written by other means) is cleaned again on its way
// out of the status page.
func TestStatusPageCleansStoredText(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	tk := e.createTicket(c, "Printer", "Bakkerij")
	if _, err := e.st.DB().Exec("UPDATE tickets SET title = 'Factuur\u202efdp.exe'"); err != nil {
		t.Fatal(err)
	}
	var detail struct{ StatusURL string }
	e.do(c, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), "").decode(t, &detail)
	resp, err := http.Get(e.srv.URL + detail.StatusURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Factuurfdp.exe") || hasFormat(string(page)) {
		t.Errorf("status page %d: the stored title is not shown cleaned", resp.StatusCode)
	}
}
