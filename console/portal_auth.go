package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/throttle"
)

// Signing in to the customer portal: a one-time link mailed on request
// (or copied by the technician), or a password the person chose; the
// session, its CSRF token, the person's language and signing out.

// Link request limits. Every request counts, not only failures: a link
// request cannot fail visibly, since its answer is the same for everyone.
const (
	// linkMailsPerAddress links are mailed to one address per
	// PortalLinkTTL. The window is the links' own lifetime, so whenever a
	// request is held back, a link mailed within its lifetime already
	// waits in that inbox: flooding someone's address costs them nothing.
	linkMailsPerAddress = 3
	// linkRequestsPerClient: requests from one client address per
	// linkClientWindow, for someone trying many addresses from one place
	// (an office behind one address stays well below it).
	linkRequestsPerClient = 20
	linkClientWindow      = 15 * time.Minute
	// portalKeys bounds each limiter's memory.
	portalKeys = 100_000
	// portalContactsPerAddress bounds the contacts one address signs in
	// as (a bookkeeper may be the contact of several customers).
	portalContactsPerAddress = 5
)

// portalLimits throttle link requests; the password sign-in is throttled
// by the console's own login guard (auth.Service.CheckOtherPassword).
type portalLimits struct {
	linkAddr, linkClient *throttle.Limiter
}

func newPortalLimits(now func() time.Time) portalLimits {
	return portalLimits{
		linkAddr:   throttle.New(linkMailsPerAddress, PortalLinkTTL, portalKeys, now),
		linkClient: throttle.New(linkRequestsPerClient, linkClientWindow, portalKeys, now),
	}
}

// portalHash is what the store keeps of a portal token: keyed like the
// session codes, under a prefix of its own, so no stored value signs in.
func (c *console) portalHash(kind, tok string) []byte {
	return c.Codes.Hash("portal-" + kind + ":" + tok)
}

// portalCSRF is the CSRF token of a portal session, derived from its
// cookie's token under the relay's key: a reloaded page gets it again
// from /portaal/api/me, and the store keeps only its hash.
func (c *console) portalCSRF(sessionToken string) string {
	return base64.RawURLEncoding.EncodeToString(c.portalHash("csrf-of", sessionToken))
}

func newPortalToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// portalAccountName is the name the login guard counts a portal address
// under: never a console user's.
func portalAccountName(email string) string {
	return "portal:" + strings.ToLower(strings.TrimSpace(email))
}

// createPortalLink stores a new one-time sign-in link of a contact and
// returns its token.
func (c *console) createPortalLink(ctx context.Context, contactID int64) (string, error) {
	tok := newPortalToken()
	if err := c.Store.CreatePortalLink(ctx, contactID, c.portalHash("link", tok), c.Now().Add(PortalLinkTTL)); err != nil {
		return "", err
	}
	return tok, nil
}

// portalLink makes a one-time sign-in link for a contact allowed in the
// portal; ErrNotFound for one who does not exist.
func (c *console) portalLink(r *http.Request, contactID int64) (string, error) {
	a, err := c.Store.PortalAccessOf(r.Context(), contactID)
	if err != nil {
		return "", err
	}
	if !a.Allowed() {
		return "", httpx.Errorf(http.StatusConflict, "not_allowed",
			"this contact is no reference person: an admin must invite them to the portal first")
	}
	tok, err := c.createPortalLink(r.Context(), contactID)
	if err != nil {
		return "", err
	}
	return "/portaal/in/" + tok, nil
}

// staffPortalLink answers a sign-in link the technician can copy from the
// contact's page and give the customer.
func (c *console) staffPortalLink(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	link, err := c.portalLink(r, id)
	if err != nil {
		return err
	}
	c.log.Info("portal sign-in link made", "contact", id, "by", login(r).User.ID)
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusCreated, map[string]string{"link": link, "expiresIn": PortalLinkTTL.String()})
	return nil
}

// invitePortal: an admin lets a contact who is no reference person in.
func (c *console) invitePortal(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := c.Store.InviteToPortal(r.Context(), id, login(r).User.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// portalRequestLink mails a sign-in link to every contact allowed in the
// portal under the address. The answer is the same whoever asks, for an
// unknown address as for a contact not allowed in, so it tells no one who
// has an account; only a client asking too often is told to wait.
func (c *console) portalRequestLink(w http.ResponseWriter, r *http.Request) error {
	if !httpx.SameOrigin(r) {
		return httpx.Errorf(http.StatusForbidden, "bad_origin", "request from a foreign origin")
	}
	var in struct {
		Email string `json:"email"`
		Lang  string `json:"lang"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	addr, err := netmail.ParseAddress(strings.TrimSpace(in.Email))
	if err != nil || addr.Name != "" {
		return httpx.FieldError("email", "enter an e-mail address")
	}
	client := httpx.ClientIP(r)
	if ok, wait := c.portalLimits.linkClient.Check(client); !ok {
		return &httpx.Problem{Status: http.StatusTooManyRequests, Code: "throttled",
			Message: "too many sign-in links asked from here; try again later", RetryAfter: wait}
	}
	c.portalLimits.linkClient.Fail(client)
	email := strings.ToLower(addr.Address)
	if ok, _ := c.portalLimits.linkAddr.Check(email); ok {
		c.portalLimits.linkAddr.Fail(email)
		// A failure here is the desk's to see in its log, not the asker's:
		// it would tell them the address is known.
		if err := c.mailPortalLinks(r.Context(), email, in.Lang); err != nil {
			c.log.Error("portal sign-in link not mailed", "err", err)
		}
	} else {
		c.log.Info("portal sign-in link held back: asked too often for the address")
	}
	httpx.JSON(w, http.StatusAccepted, map[string]bool{"sent": true})
	return nil
}

// mailPortalLinks queues a sign-in link for each contact allowed in under
// email, in the contact's language (lang, the page's, when they have none).
func (c *console) mailPortalLinks(ctx context.Context, email, lang string) error {
	s, err := c.mailSettings(ctx)
	if err != nil {
		return err
	}
	as, err := c.Store.PortalAccessByEmail(ctx, email, portalContactsPerAddress)
	if err != nil {
		return err
	}
	queued := false
	for _, a := range as {
		if !a.Allowed() {
			continue
		}
		if !s.Configured() {
			c.log.Warn("portal sign-in link asked, but mail is not set up", "contact", a.Contact.ID)
			return nil
		}
		cu, err := c.Store.Customer(ctx, a.Contact.CustomerID)
		if err != nil {
			return err
		}
		tok, err := c.createPortalLink(ctx, a.Contact.ID)
		if err != nil {
			return err
		}
		l := a.Contact.Lang
		if !helpdesk.OneOf(l, helpdesk.Languages) && helpdesk.OneOf(lang, helpdesk.Languages) {
			l = lang
		}
		tr := c.translator(i18n.Lang(l))
		link := strings.TrimRight(s.PublicURL, "/") + "/portaal/in/" + tok
		// One mail per link: its ref is a piece of the link's stored hash,
		// which names it in the queue without giving it away.
		ref := hex.EncodeToString(c.portalHash("link", tok)[:8])
		if _, err := c.Store.EnqueueMail(ctx, store.Mail{Kind: store.MailPortalLink, Ref: ref, To: email, Lang: l,
			Subject: tr("mail.portal.subject", "company", c.signature(ctx)),
			Body: tr("mail.portal.body", "name", a.Contact.Name, "customer", cu.Name, "link", link,
				"minutes", strconv.Itoa(int(PortalLinkTTL/time.Minute)), "company", c.signature(ctx))}); err != nil {
			return err
		}
		queued = true
		c.log.Info("portal sign-in link mailed", "contact", a.Contact.ID)
	}
	if queued {
		c.Mail.Wake()
	}
	return nil
}

// portalSignIn spends a link's token and starts a portal session.
func (c *console) portalSignIn(w http.ResponseWriter, r *http.Request) error {
	if !httpx.SameOrigin(r) {
		return httpx.Errorf(http.StatusForbidden, "bad_origin", "request from a foreign origin")
	}
	var in struct {
		Token string `json:"token"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	contactID, err := c.Store.UsePortalLink(r.Context(), c.portalHash("link", strings.TrimSpace(in.Token)))
	switch {
	case errors.Is(err, store.ErrLinkExpired):
		return httpx.Errorf(http.StatusGone, "link_expired", "this sign-in link has expired: ask for a new one")
	case errors.Is(err, store.ErrLinkUsed):
		return httpx.Errorf(http.StatusGone, "link_used", "this sign-in link was used already: ask for a new one")
	case errors.Is(err, store.ErrNotFound):
		return httpx.Errorf(http.StatusNotFound, "link_unknown", "this sign-in link is not valid: ask for a new one")
	case err != nil:
		return err
	}
	c.log.Info("portal sign-in by link", "contact", contactID)
	return c.startPortalSession(w, r, contactID)
}

// portalPasswordSignIn signs in with the address and the password the
// person chose. A wrong password and an unknown address (or one without
// a password, or not allowed in) get the same answer, under the console's
// login limits.
func (c *console) portalPasswordSignIn(w http.ResponseWriter, r *http.Request) error {
	if !httpx.SameOrigin(r) {
		return httpx.Errorf(http.StatusForbidden, "bad_origin", "request from a foreign origin")
	}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	as, err := c.Store.PortalAccessByEmail(r.Context(), in.Email, portalContactsPerAddress)
	if err != nil {
		return err
	}
	// The oldest contact allowed in with a password: one person, one
	// password, even when they are the contact of several customers.
	var who store.PortalAccess
	for _, a := range as {
		if a.Allowed() && a.PasswordHash != "" {
			who = a
			break
		}
	}
	if err := c.Auth.CheckOtherPassword(r, portalAccountName(in.Email), who.PasswordHash, in.Password); err != nil {
		return err
	}
	c.log.Info("portal sign-in by password", "contact", who.Contact.ID)
	return c.startPortalSession(w, r, who.Contact.ID)
}

// startPortalSession sets the portal cookie of a new session and answers
// its CSRF token.
func (c *console) startPortalSession(w http.ResponseWriter, r *http.Request, contactID int64) error {
	tok := newPortalToken()
	csrf := c.portalCSRF(tok)
	if err := c.Store.CreatePortalLogin(r.Context(), contactID, c.portalHash("session", tok), c.portalHash("csrf", csrf),
		c.Now().Add(portalSessionTTL)); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: tok, Path: "/portaal/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: int(portalSessionTTL.Seconds())})
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, map[string]string{"csrfToken": csrf})
	return nil
}

// portalFunc is a portal handler with the signed-in contact.
type portalFunc func(w http.ResponseWriter, r *http.Request, who store.Contact) error

// portalToken is the request's portal session token ("" without one).
func portalToken(r *http.Request) string {
	ck, err := r.Cookie(portalCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}

// signedIn checks the portal session (and the CSRF token of a change)
// before h: without one, 401; a console login is no portal session.
func (c *console) signedIn(h portalFunc) http.HandlerFunc {
	return c.handle(func(w http.ResponseWriter, r *http.Request) error {
		tok := portalToken(r)
		if tok == "" {
			return httpx.Errorf(http.StatusUnauthorized, "unauthorized", "sign in to the portal first")
		}
		contactID, csrfHash, err := c.Store.PortalLogin(r.Context(), c.portalHash("session", tok))
		if errors.Is(err, store.ErrNotFound) {
			return httpx.Errorf(http.StatusUnauthorized, "unauthorized", "sign in to the portal first")
		}
		if err != nil {
			return err
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := c.portalHash("csrf", r.Header.Get(auth.CSRFHeader))
			if subtle.ConstantTimeCompare(got, csrfHash) != 1 {
				return httpx.Errorf(http.StatusForbidden, "bad_csrf", "missing or wrong CSRF token")
			}
		}
		a, err := c.Store.PortalAccessOf(r.Context(), contactID)
		if err != nil {
			return err
		}
		if !a.Allowed() { // no longer a reference person, nor invited
			return httpx.Errorf(http.StatusUnauthorized, "unauthorized", "sign in to the portal first")
		}
		return h(w, r, a.Contact)
	})
}

// portalSignOut ends the portal session and clears its cookie.
func (c *console) portalSignOut(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	if err := c.Store.DeletePortalLogin(r.Context(), c.portalHash("session", portalToken(r))); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: "", Path: "/portaal/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c.log.Info("portal sign-out", "contact", who.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// portalMe answers who is signed in, their company, their language,
// whether they chose a password, and the session's CSRF token.
func (c *console) portalMe(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	a, err := c.Store.PortalAccessOf(r.Context(), who.ID)
	if err != nil {
		return err
	}
	cu, err := c.Store.Customer(r.Context(), who.CustomerID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, map[string]any{"name": who.Name, "email": who.Email, "company": cu.Name, "lang": who.Lang,
		"hasPassword": a.PasswordHash != "", "csrfToken": c.portalCSRF(portalToken(r))})
	return nil
}

// portalSetLang stores the language the person chose on their contact:
// the portal, its mails and the desk's mails speak it from then on.
func (c *console) portalSetLang(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	var in struct {
		Lang string `json:"lang"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	if err := oneOf("lang", in.Lang, helpdesk.Languages); err != nil {
		return err
	}
	if err := c.Store.SetContactLang(r.Context(), who.ID, in.Lang); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// portalSetPassword sets the person's own password, their choice; one who
// has a password proves it is them with it (counted as a sign-in attempt).
// Their other portal sessions end; this one stays.
func (c *console) portalSetPassword(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	var in struct {
		Current  string `json:"current"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	if _, err := netmail.ParseAddress(who.Email); err != nil {
		// One signs in with a password by address: without one, it would
		// never serve.
		return httpx.Errorf(http.StatusConflict, "no_email", "your contact details have no e-mail address: ask the desk to add it")
	}
	a, err := c.Store.PortalAccessOf(r.Context(), who.ID)
	if err != nil {
		return err
	}
	if a.PasswordHash != "" {
		if err := c.Auth.CheckOtherPassword(r, portalAccountName(who.Email), a.PasswordHash, in.Current); err != nil {
			if errors.Is(err, auth.ErrBadCredentials) {
				return &httpx.Problem{Status: http.StatusBadRequest, Code: "wrong_password", Field: "current",
					Message: "the current password is wrong"}
			}
			return err
		}
	}
	if err := auth.CheckNewPassword("password", in.Password); err != nil {
		return err
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return err
	}
	if err := c.Store.SetPortalPassword(r.Context(), who.ID, hash, c.portalHash("session", portalToken(r))); err != nil {
		return err
	}
	c.log.Info("portal password set", "contact", who.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
