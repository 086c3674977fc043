//go:build bench

package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chromedp/chromedp"
)

// noVNCDir is where Debian's novnc package puts the client.
const noVNCDir = "/usr/share/novnc"

// noVNCPage is noVNC's RFB client on a page of our own, so the bench can
// reach it: the canvas it draws on, the updates it completes (each ends
// with a flip of its display) and the bytes its WebSocket receives. It
// asks for noVNC's defaults (Tight, JPEG quality 6, compression 2), as a
// technician opening vnc.html would get, but view only.
const noVNCPage = `<!doctype html>
<meta charset="utf-8">
<title>noVNC bench</title>
<style>body { margin: 0 }</style>
<div id="screen"></div>
<script type="module">
import RFB from './core/rfb.js';
import Websock from './core/websock.js';
const st = window.__novnc = { bytes: 0, updates: 0, connected: false, error: '' };
// Counted as each WebSocket message arrives: the RFB payload, as the Go
// client counts the bytes on its socket.
const recv = Websock.prototype._recvMessage;
Websock.prototype._recvMessage = function (e) {
	st.bytes += e.data.byteLength || 0;
	return recv.call(this, e);
};
window.addEventListener('error', (e) => { st.error = String(e.message); });
const rfb = new RFB(document.getElementById('screen'), 'ws://' + location.host + '/websockify');
rfb.viewOnly = true;
rfb.addEventListener('connect', () => { st.connected = true; });
rfb.addEventListener('disconnect', (e) => { st.error = 'disconnected: clean=' + e.detail.clean; });
const flip = rfb._display.flip.bind(rfb._display);
rfb._display.flip = (q) => { st.updates++; return flip(q); };
window.__novncCanvas = rfb._canvas;
</script>
`

// noVNC is x11vnc viewed through websockify and noVNC in a tab of the
// bench's Chromium: the peer as a technician would use it in a browser.
// Between its rounds the tab is blank and x11vnc has no client, so it
// costs nothing while Meekijk is measured.
type noVNC struct {
	tab  context.Context
	srv  *X11VNC
	ws   *exec.Cmd
	url  string
	base struct{ bytes, updates float64 }
}

type noVNCStats struct {
	Bytes     float64 `json:"bytes"`
	Updates   float64 `json:"updates"`
	Connected bool    `json:"connected"`
	Error     string  `json:"error"`
}

// startNoVNC starts x11vnc on display and websockify serving noVNC and
// bridging to it, all on loopback.
func startNoVNC(ctx context.Context, s *stage, tab context.Context) (*noVNC, error) {
	if _, err := os.Stat(filepath.Join(noVNCDir, "core", "rfb.js")); err != nil {
		return nil, fmt.Errorf("noVNC not found (scripts/deps.sh installs novnc): %w", err)
	}
	web := filepath.Join(s.dir, "novnc")
	if err := os.MkdirAll(web, 0o755); err != nil {
		return nil, err
	}
	for _, d := range []string{"core", "vendor"} {
		if err := os.Symlink(filepath.Join(noVNCDir, d), filepath.Join(web, d)); err != nil && !os.IsExist(err) {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(web, "bench.html"), []byte(noVNCPage), 0o644); err != nil {
		return nil, err
	}
	srv, err := StartX11VNC(ctx, s.display)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		srv.Stop()
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ws := exec.CommandContext(ctx, "websockify", "--web", web, addr, srv.Addr)
	if err := ws.Start(); err != nil {
		srv.Stop()
		return nil, fmt.Errorf("start websockify (scripts/deps.sh installs it): %w", err)
	}
	n := &noVNC{tab: tab, srv: srv, ws: ws, url: "http://" + addr + "/bench.html"}
	if err := waitListen(addr, 15*time.Second); err != nil {
		n.stop()
		return nil, fmt.Errorf("websockify: %w", err)
	}
	return n, nil
}

// connect opens the viewer page and waits for the first picture.
func (n *noVNC) connect() error {
	if err := do(n.tab, "open noVNC", chromedp.Navigate(n.url)); err != nil {
		return err
	}
	if err := until(n.tab, "noVNC connects", `!!(window.__novnc && window.__novnc.connected && window.__novnc.updates > 0)`, 15*time.Second); err != nil {
		st, _ := js[string](n.tab, `JSON.stringify(window.__novnc || null)`)
		return fmt.Errorf("%w (noVNC: %s)", err, st)
	}
	_, err := js[bool](n.tab, probeJS(`window.__novncCanvas`, `requestAnimationFrame(f)`))
	return err
}

// disconnect leaves the page, which closes noVNC's connection.
func (n *noVNC) disconnect() error {
	return do(n.tab, "leave noVNC", chromedp.Navigate("about:blank"))
}

func (n *noVNC) pid() int { return n.srv.Cmd.Process.Pid }

func (n *noVNC) stats() (noVNCStats, error) {
	st, err := js[noVNCStats](n.tab, `window.__novnc`)
	if err == nil && st.Error != "" {
		err = fmt.Errorf("noVNC %s", st.Error)
	}
	return st, err
}

func (n *noVNC) mark() error {
	st, err := n.stats()
	if err != nil {
		return err
	}
	n.base.bytes, n.base.updates = st.Bytes, st.Updates
	_, err = js[bool](n.tab, resetProbeJS)
	return err
}

func (n *noVNC) collect() (viewStats, error) {
	st, err := n.stats()
	if err != nil {
		return viewStats{}, err
	}
	v := viewStats{bytes: int64(st.Bytes - n.base.bytes), frames: int64(st.Updates - n.base.updates), codec: "noVNC (Tight, JPEG quality 6)"}
	v.seen, err = readSeen(n.tab)
	return v, err
}

// stop ends websockify and x11vnc.
func (n *noVNC) stop() {
	kill(n.ws)
	n.srv.Stop()
}
