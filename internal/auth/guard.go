package auth

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/throttle"
)

// Login limits (docs/security.md, "Logins and lockout rules"). Failures
// are counted where they come from, never for an account as a whole: an
// attacker can slow their own address, their own network and the account
// as seen from them, but the owner with the right password from another
// address logs in at once. The admin cannot be locked out from outside.
const (
	// failWindow is how long a failure counts.
	failWindow = 15 * time.Minute
	// pairLimit: failures for one account from one address.
	pairLimit = 5
	// addrLimit: failures from one address, over all accounts it tries.
	addrLimit = 10
	// netLimit: failures from one network (/24 for IPv4, /48 for IPv6),
	// for an attacker who rotates addresses within the block they hold.
	netLimit = 50
	// maxKeys bounds each limiter's and the tally's memory.
	maxKeys = 100_000
)

// anyAccount names the account of a tally that counts every account an
// address tried while the address itself was throttled: an attacker
// varying account names then still adds one audit row, not one per name.
const anyAccount = "*"

// guard throttles failed logins and second-factor codes and audits them
// aggregated: per address and account, the first failure and the first
// throttled attempt of a window are written at once, and the counts of the
// rest in one summary when the window ends. A flood from one address thus
// adds at most a few rows per window, however fast it goes.
type guard struct {
	log    *slog.Logger
	audit  func(ctx context.Context, event string, payload any) error
	now    func() time.Time
	window time.Duration

	pair, addr, net *throttle.Limiter

	mu      sync.Mutex // guards tallies
	tallies map[tallyKey]*tally
}

type tallyKey struct {
	ip, account string
	window      int64 // start of the window, Unix ms
}

// tally counts one address's failures and throttled attempts for one
// account within one window.
type tally struct {
	failures  int
	throttled int
	// scope is the limit that refused the first throttled attempt.
	scope string
}

func newGuard(log *slog.Logger, audit func(context.Context, string, any) error, now func() time.Time) *guard {
	return &guard{
		log: log, audit: audit, now: now, window: failWindow,
		pair:    throttle.New(pairLimit, failWindow, maxKeys, now),
		addr:    throttle.New(addrLimit, failWindow, maxKeys, now),
		net:     throttle.New(netLimit, failWindow, maxKeys, now),
		tallies: map[tallyKey]*tally{},
	}
}

// network is the block an address belongs to for the network limit.
func network(ip string) string {
	a := net.ParseIP(ip)
	switch {
	case a == nil:
		return ip
	case a.To4() != nil:
		return a.Mask(net.CIDRMask(24, 32)).String() + "/24"
	default:
		return a.Mask(net.CIDRMask(48, 128)).String() + "/48"
	}
}

// check refuses an attempt by ip on account while a limit holds, auditing
// the refusal (aggregated). It returns nil when the attempt may go on.
func (g *guard) check(ctx context.Context, ip, account string) error {
	for _, l := range []struct {
		lim   *throttle.Limiter
		key   string
		scope string
	}{{g.addr, ip, "address"}, {g.net, network(ip), "network"}, {g.pair, ip + "\x00" + account, "account"}} {
		ok, wait := l.lim.Check(l.key)
		if ok {
			continue
		}
		tk := tallyKey{ip: ip, account: account}
		if l.scope != "account" {
			tk.account = anyAccount
		}
		if g.count(tk, func(t *tally) bool {
			t.throttled++
			if t.throttled == 1 {
				t.scope = l.scope
			}
			return t.throttled == 1
		}) {
			// Logged and audited once per window, not per attempt: a flood
			// must not flood the log either.
			g.log.Warn("logins throttled", "ip", ip, "account", tk.account, "scope", l.scope)
			g.write(ctx, "login_throttled", map[string]any{"account": tk.account, "scope": l.scope, "retryAfterSeconds": int(wait.Seconds())})
		}
		return &httpx.Problem{Status: http.StatusTooManyRequests, Code: "throttled",
			Message: "too many failed logins; try again later", RetryAfter: wait}
	}
	return nil
}

// fail counts a failed attempt (a wrong password or code) by ip on
// account; factor says which ("password", "totp", "recovery").
func (g *guard) fail(ctx context.Context, ip, account, factor string) {
	g.pair.Fail(ip + "\x00" + account)
	g.addr.Fail(ip)
	g.net.Fail(network(ip))
	if g.count(tallyKey{ip: ip, account: account}, func(t *tally) bool {
		t.failures++
		return t.failures == 1
	}) {
		g.write(ctx, "login_failed", map[string]any{"account": account, "factor": factor})
	}
}

// succeed forgets the failures of account from ip: the owner who finally
// typed it right is not slowed on their next login.
func (g *guard) succeed(ip, account string) { g.pair.Reset(ip + "\x00" + account) }

// count applies fn to the tally of k in the current window and returns
// fn's answer (whether to write a row now). Windows are fixed slices of
// time, so a finished window's tally waits for flush under its own key.
// The tallies are bounded: when full, a new key is counted in the
// address-wide tally of its address, or not at all.
func (g *guard) count(k tallyKey, fn func(*tally) bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	k.window = g.now().Truncate(g.window).UnixMilli()
	t := g.tallies[k]
	if t == nil && len(g.tallies) >= maxKeys {
		k.account = anyAccount
		if t = g.tallies[k]; t == nil {
			return false
		}
	}
	if t == nil {
		t = &tally{}
		g.tallies[k] = t
	}
	return fn(t)
}

// write records an audit row; a failure to do so is logged, as the login
// answer itself does not depend on it.
func (g *guard) write(ctx context.Context, event string, payload map[string]any) {
	if err := g.audit(ctx, event, payload); err != nil {
		g.log.Error("auditing a login failure", "event", event, "err", err)
	}
}

// flush writes the summary of every tally whose window ended (every one,
// when all is set: at shutdown) and forgets them.
func (g *guard) flush(ctx context.Context, all bool) {
	type summary struct {
		k tallyKey
		t tally
	}
	var out []summary
	g.mu.Lock()
	now := g.now()
	for k, t := range g.tallies {
		if all || now.Sub(time.UnixMilli(k.window)) >= g.window {
			out = append(out, summary{k, *t})
			delete(g.tallies, k)
		}
	}
	g.mu.Unlock()
	// The rows are written after the lock is released: the database must
	// not hold up logins being counted.
	for _, s := range out {
		// The first failure and the first throttled attempt were written
		// when they happened; a summary is needed only for more.
		if s.t.failures <= 1 && s.t.throttled <= 1 {
			continue
		}
		actx := store.WithActor(ctx, store.Actor{Name: "anonymous", IP: s.k.ip})
		g.write(actx, "login_failures", map[string]any{
			"account": s.k.account, "failures": s.t.failures, "throttled": s.t.throttled, "scope": s.t.scope,
			"from":  time.UnixMilli(s.k.window).UTC().Format(time.RFC3339),
			"until": time.UnixMilli(s.k.window).Add(g.window).UTC().Format(time.RFC3339),
		})
	}
}

// run flushes finished windows every minute until ctx ends, then the rest.
func (g *guard) run(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			g.flush(ctx, false)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			g.flush(fctx, true)
			return
		}
	}
}
