package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpCode is the code an authenticator app shows for secret, steps
// periods of 30 s from now.
func totpCode(t *testing.T, secret string, steps int) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, time.Now().Add(time.Duration(steps)*30*time.Second),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a six-digit code that none of the codes around now is.
func wrongCode(t *testing.T, secret string) string {
	t.Helper()
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if c != totpCode(t, secret, -1) && c != totpCode(t, secret, 0) && c != totpCode(t, secret, 1) {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// submitLogin fills the login form (the code field only when asked for)
// and submits it, without waiting for the outcome.
func submitLogin(t *testing.T, tab context.Context, r *relay, login, password string) {
	t.Helper()
	run(t, tab, "log in as "+login,
		chromedp.Navigate(r.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#login input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=email]`), login),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
	)
}

// submitCode types a code into the login form's second step.
func submitCode(t *testing.T, tab context.Context, code string) {
	t.Helper()
	run(t, tab, "enter code",
		chromedp.WaitVisible(chromedp.CSS(`#login-code input[name=code]`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#login-code input[name=code]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`#login-code input[name=code]`), code),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
	)
}

func logoutTab(t *testing.T, tab context.Context) {
	t.Helper()
	run(t, tab, "log out", chromedp.Click(chromedp.CSS(`#logout`)), chromedp.WaitVisible(chromedp.CSS(`#login input[name=email]`)))
}

// The second factor end to end, in Chromium (issue 15): an admin makes it
// required, which sends them to set it up; they scan (here: read) the
// secret, confirm a code computed here, keep the recovery codes, and log in
// again with password and code; a wrong code and a reused recovery code are
// refused; a technician without one is held on the set-up page.
func TestSecondFactorInChromium(t *testing.T) {
	r := startRelay(t)
	browser := newBrowser(t)
	tab := newTab(t, browser)
	consoleLogin(t, tab, r)
	var tech struct{ Password string }
	json.Unmarshal(apiCall(t, tab, "POST", "/users", map[string]string{"email": "tina@example.com", "name": "Tina Peeters", "role": "technician", "lang": "nl"}, 201), &tech)

	// The admin requires a second factor of everyone, themselves included.
	run(t, tab, "open users", chromedp.Navigate(r.url+"/#/users"), chromedp.WaitVisible(chromedp.CSS(`#security-settings`)))
	chooseOption(t, tab, `#security-settings select[name=totpRequired]`, "Iedereen")
	run(t, tab, "save policy", chromedp.Click(chromedp.CSS(`#security-settings button[type=submit]`)))
	waitJS(t, tab, "sent to set up a second factor",
		`document.querySelector('#account-pending')?.dataset.pending === 'totp_enrolment'`, 10*time.Second)
	run(t, tab, "try the tickets", chromedp.Click(chromedp.CSS(`#nav-tickets`)))
	waitJS(t, tab, "still held on the account page",
		`location.hash === '#/tickets' && !!document.querySelector('#account-pending') && !document.querySelector('#new-ticket')`, 10*time.Second)

	// Enrolment: a QR code made by the relay (it loads under the CSP), the
	// secret in text, a wrong first code refused, the right one accepted.
	run(t, tab, "begin", chromedp.Click(chromedp.CSS(`#totp-begin`)), chromedp.WaitVisible(chromedp.CSS(`#totp-secret`)))
	waitJS(t, tab, "QR code shown", `(() => { const i = document.querySelector('#totp-qr'); return i.complete && i.naturalWidth >= 200; })()`, 10*time.Second)
	secret := strings.TrimSpace(eval[string](t, tab, `document.querySelector('#totp-secret').textContent`))
	run(t, tab, "wrong first code",
		chromedp.SendKeys(chromedp.CSS(`#totp-confirm input[name=code]`), wrongCode(t, secret)),
		chromedp.Click(chromedp.CSS(`#totp-confirm button[type=submit]`)))
	waitJS(t, tab, "wrong first code refused", `document.querySelector('#totp-confirm [data-error-for=code]').dataset.code === 'bad_code'`, 10*time.Second)
	run(t, tab, "right first code",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#totp-confirm input[name=code]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`#totp-confirm input[name=code]`), totpCode(t, secret, 0)),
		chromedp.Click(chromedp.CSS(`#totp-confirm button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#recovery-codes`)))
	recovery := eval[[]string](t, tab, `[...document.querySelectorAll('#recovery-codes li')].map(li => li.textContent)`)
	if len(recovery) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(recovery))
	}
	run(t, tab, "codes saved", chromedp.Click(chromedp.CSS(`#recovery-done`)), chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))

	// Log out and in again: the password, then the code. The enrolment
	// spent the current step's code, so the next step's (accepted for a
	// phone a little ahead) logs in.
	logoutTab(t, tab)
	submitLogin(t, tab, r, "admin", r.password)
	submitCode(t, tab, wrongCode(t, secret))
	waitJS(t, tab, "wrong code refused", `document.querySelector('#login [data-error-for=code]').dataset.code === 'bad_code'`, 10*time.Second)
	submitCode(t, tab, totpCode(t, secret, 1))
	run(t, tab, "in with password and code", chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))

	// A recovery code works once.
	for _, want := range []string{"in", "refused"} {
		logoutTab(t, tab)
		submitLogin(t, tab, r, "admin", r.password)
		submitCode(t, tab, recovery[4])
		if want == "in" {
			run(t, tab, "in with a recovery code", chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))
			continue
		}
		waitJS(t, tab, "recovery code used twice", `document.querySelector('#login [data-error-for=code]')?.dataset.code === 'bad_code'`, 10*time.Second)
	}

	// The technician, without a second factor, is sent to set one up.
	other := newContext(t, browser)
	submitLogin(t, other, r, "tina@example.com", tech.Password)
	waitJS(t, other, "technician held for enrolment",
		`document.querySelector('#account-pending')?.dataset.pending === 'totp_enrolment' && !!document.querySelector('#totp-begin')`, 10*time.Second)
}

// Accounts in Chromium (issue 19, item 5): the login field says what a login
// is; an admin gives a technician a new password from the users page (shown
// once); the technician logs in with it, may do nothing but choose their
// own, and then works; their old login elsewhere has ended.
func TestPasswordResetInChromium(t *testing.T) {
	r := startRelay(t)
	browser := newBrowser(t)
	tab := newTab(t, browser)
	run(t, tab, "open the login page", chromedp.Navigate(r.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	// The page is in the browser's language until someone logs in.
	honest := map[string]string{"nl": "Gebruikersnaam of e-mail", "fr": "Identifiant ou e-mail", "en": "User name or e-mail"}
	lang := eval[string](t, tab, `document.documentElement.lang`)
	if label := eval[string](t, tab, `document.querySelector('#login [data-field=email] .label').textContent`); label != honest[lang] {
		t.Errorf("login label %q in %s, want %q", label, lang, honest[lang])
	}
	consoleLogin(t, tab, r)
	var tech struct {
		ID       int64
		Password string
	}
	json.Unmarshal(apiCall(t, tab, "POST", "/users", map[string]string{"email": "tina@example.com", "name": "Tina Peeters", "role": "technician", "lang": "nl"}, 201), &tech)
	techTab := newContext(t, browser)
	loginAs(t, techTab, r, "tina@example.com", tech.Password)

	run(t, tab, "reset Tina's password",
		chromedp.Navigate(r.url+"/#/users"),
		chromedp.Click(chromedp.CSS(`tr[data-email="tina@example.com"] .edit-user`)),
		chromedp.Click(chromedp.CSS(`#reset-password`)),
		chromedp.Click(chromedp.CSS(`#reset-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#reset-password-value`)))
	given := eval[string](t, tab, `document.querySelector('#reset-password-value').textContent`)
	if len(given) < 20 || given == tech.Password {
		t.Fatalf("reset showed %q", given)
	}

	// Tina's open console has lost its login.
	run(t, techTab, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#login input[name=email]`)))
	submitLogin(t, techTab, r, "tina@example.com", given)
	waitJS(t, techTab, "held for a password change",
		`document.querySelector('#account-pending')?.dataset.pending === 'password_change'`, 10*time.Second)
	const mine = "Tina's own long passphrase"
	run(t, techTab, "mismatched repeat",
		chromedp.SendKeys(chromedp.CSS(`#password-change input[name=current]`), given),
		chromedp.SendKeys(chromedp.CSS(`#password-change input[name=new]`), mine),
		chromedp.SendKeys(chromedp.CSS(`#password-change input[name=repeat]`), mine+"!"),
		chromedp.Click(chromedp.CSS(`#password-change button[type=submit]`)))
	waitJS(t, techTab, "repeat refused", `document.querySelector('#password-change [data-error-for=repeat]').textContent !== ''`, 10*time.Second)
	run(t, techTab, "choose her own",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#password-change input[name=repeat]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`#password-change input[name=repeat]`), mine),
		chromedp.Click(chromedp.CSS(`#password-change button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))
	logoutTab(t, techTab)
	loginAs(t, techTab, r, "tina@example.com", mine)
}
