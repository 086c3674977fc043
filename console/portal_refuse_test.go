package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/store"
)

// TestPortalRefuseQuestion: the customer can refuse a question in the
// portal; the refusal is recorded as an approval is (text, version,
// SHA-256, who, when), answers it for good, is never taken for an
// approval, and the technician and the mailed link's page show it.
func TestPortalRefuseQuestion(t *testing.T) {
	e := newEnv(t)
	sc := e.estimateScene()
	staff, ref, tk, est := sc.staff, sc.ref, sc.tk, sc.est
	path := fmt.Sprintf("/portaal/api/tickets/%d/approvals/%d", tk.ID, est.ID)
	refuse := `{"lang":"nl","version":"estimate-mail-1","refuse":true}`
	strangerCookie, strangerCSRF := e.signedIn(staff, sc.stranger.ID)
	missing := e.portalDo(strangerCookie, strangerCSRF, "POST", fmt.Sprintf("/portaal/api/tickets/%d/approvals/99999", tk.ID+1000), refuse)
	if a := e.portalDo(strangerCookie, strangerCSRF, "POST", path, refuse); a.status != http.StatusNotFound || string(a.body) != string(missing.body) {
		t.Fatalf("another company's person: %d %s; a missing one: %d %s", a.status, a.body, missing.status, missing.body)
	}
	c, csrf := e.signedIn(staff, ref.ID)
	if a := e.portalDo(c, csrf, "POST", path, refuse); a.status != http.StatusNoContent {
		t.Fatalf("refuse: %d %s", a.status, a.body)
	}
	es, err := e.st.Estimates(context.Background(), tk.ID)
	if err != nil || len(es) != 1 || es[0].Approval != nil || es[0].Refusal == nil {
		t.Fatalf("estimates = %+v, %v", es, err)
	}
	rf := es[0].Refusal
	if rf.By != fmt.Sprintf("contact:%d", ref.ID) || rf.Lang != "nl" || rf.Version != "estimate-mail-1" || rf.TextSHA256 != store.TextSHA256(rf.Text) ||
		!strings.Contains(rf.Text, tk.Reference) { // the statement they were asked to approve
		t.Errorf("refusal = %+v", rf)
	}
	// Answered for good: approving afterwards is a conflict.
	if a := e.portalDo(c, csrf, "POST", path, `{"lang":"nl","version":"estimate-mail-1","accept":true}`); a.status != http.StatusConflict {
		t.Errorf("approve after refusing: %d %s", a.status, a.body)
	}
	// The portal and the technician's ticket show the refusal.
	var detail struct {
		Approvals []struct {
			Refusal   *store.Approved
			RefusedBy string
		}
	}
	e.portalDo(c, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d", tk.ID), "").decode(t, &detail)
	if len(detail.Approvals) != 1 || detail.Approvals[0].Refusal == nil {
		t.Errorf("portal's questions = %+v", detail.Approvals)
	}
	var staffView []struct {
		Approval  *store.Approved
		Refusal   *store.Approved
		RefusedBy string
	}
	e.call(staff, "GET", fmt.Sprintf("/api/v1/tickets/%d/approvals", tk.ID), nil, 200, &staffView)
	if len(staffView) != 1 || staffView[0].Approval != nil || staffView[0].Refusal == nil || staffView[0].RefusedBy != "Ann Peeters" {
		t.Errorf("technician's view = %+v", staffView)
	}
	// The mailed link's page says it was refused, and offers no approval.
	a := e.do(client{}, "GET", "/estimate/tok", "")
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `id="refused"`) || strings.Contains(string(a.body), `id="approve"`) {
		t.Errorf("estimate page after a refusal: %d\n%s", a.status, a.body)
	}
}
