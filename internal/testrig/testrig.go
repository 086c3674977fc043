// Package testrig holds what the end-to-end tests (e2e/) and the benchmark
// (bench/) both start: the relay and agent binaries, built as for real, and
// a headless Chromium fenced off every network but loopback. Keeping the
// fence in one place keeps the two from drifting apart on what a test may
// send where.
package testrig

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/chromedp/chromedp"
)

// Build builds the relay (without cgo, as released) and the agent (cgo:
// OpenH264) from the repository root root into dir, with main.version set
// to version and any extra `go build` flags, and returns their paths.
func Build(root, dir, version string, extra ...string) (relay, agent string, err error) {
	relay, agent = filepath.Join(dir, "relay"), filepath.Join(dir, "agent")
	for _, b := range []struct{ out, pkg, cgo string }{{relay, "relay", "0"}, {agent, "agent", "1"}} {
		args := append([]string{"build"}, extra...)
		args = append(args, "-ldflags", "-X main.version="+version, "-o", b.out, "./"+b.pkg)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return relay, agent, nil
}

// ChromiumOptions starts Debian's Chromium headless with its profile in
// userDataDir and no traffic of its own: no background networking,
// updates, sync or QUIC. WebRTC may use loopback, with candidates as plain
// addresses rather than mDNS names, because the agent is told to use
// 127.0.0.0/8 only. Callers append their own options.
func ChromiumOptions(userDataDir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.UserDataDir(userDataDir),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns,Translate,MediaRouter,OptimizationHints"),
		chromedp.WindowSize(1600, 1000),
	}
}
