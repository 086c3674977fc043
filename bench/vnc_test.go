//go:build bench

package bench

import (
	"context"
	"sync"
	"time"
)

// vncViewer watches the screen through x11vnc with the Go RFB client,
// reading updates back to back as a viewer does.
type vncViewer struct {
	srv    *X11VNC
	client *VNC
	done   chan error

	mu      sync.Mutex // guards the following
	updates int64
	last    int
	seen    []seenMarker
	base    struct{ bytes, updates int64 }
}

func startVNC(ctx context.Context, display string) (*vncViewer, error) {
	srv, err := StartX11VNC(ctx, display)
	if err != nil {
		return nil, err
	}
	c, err := DialVNC(srv.Addr)
	if err != nil {
		srv.Stop()
		return nil, err
	}
	v := &vncViewer{srv: srv, client: c, done: make(chan error, 1), last: -1}
	go func() {
		for {
			if err := c.Next(); err != nil {
				v.done <- err
				return
			}
			at := time.Now()
			n, ok := DecodeMarker(c.Luma)
			v.mu.Lock()
			v.updates++
			if ok && int(n) != v.last {
				v.last = int(n)
				v.seen = append(v.seen, seenMarker{n: n, at: at})
			}
			v.mu.Unlock()
		}
	}()
	return v, nil
}

func (v *vncViewer) pid() int { return v.srv.Cmd.Process.Pid }

func (v *vncViewer) mark() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seen = nil
	v.base.bytes, v.base.updates = v.client.Bytes(), v.updates
	return nil
}

func (v *vncViewer) collect() (viewStats, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	select {
	case err := <-v.done:
		v.done <- err
		return viewStats{}, err
	default:
	}
	return viewStats{bytes: v.client.Bytes() - v.base.bytes, frames: v.updates - v.base.updates,
		seen: append([]seenMarker(nil), v.seen...), codec: "RFB ZRLE"}, nil
}

// stop closes the client, waits for its reader, and ends x11vnc.
func (v *vncViewer) stop() {
	v.client.Close()
	<-v.done
	v.srv.Stop()
}
