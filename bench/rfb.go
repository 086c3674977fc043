package bench

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// RFB encodings this client asks for, in order of preference: what a
// typical VNC viewer uses with x11vnc on a fast link.
const (
	encRaw      = 0
	encCopyRect = 1
	encZRLE     = 16
)

// VNC is a minimal RFB 3.8 viewer: it keeps a full copy of the remote
// screen, asks for incremental updates back to back as a viewer does, and
// counts the bytes it receives.
type VNC struct {
	conn  net.Conn
	r     *bufio.Reader
	bytes atomic.Int64

	W, H int
	fb   []byte // BGRX, W*H*4: the pixel format this client asks for

	zwin   []byte // the last 32 KiB ZRLE inflated: its stream spans rects
	zstart bool   // the zlib header has been seen
}

// countingReader counts what crosses the socket.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// DialVNC connects to an RFB server without a password (-nopw), shares the
// desktop, and sets a 32-bit true-colour format.
func DialVNC(addr string) (*VNC, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("vnc: dial %s: %w", addr, err)
	}
	v := &VNC{conn: conn}
	v.r = bufio.NewReaderSize(countingReader{conn, &v.bytes}, 64<<10)
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := v.handshake(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("vnc: handshake with %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return v, nil
}

func (v *VNC) handshake() error {
	var version [12]byte
	if _, err := io.ReadFull(v.r, version[:]); err != nil {
		return err
	}
	if !bytes.HasPrefix(version[:], []byte("RFB 003.")) {
		return fmt.Errorf("not an RFB server: %q", version)
	}
	if _, err := v.conn.Write([]byte("RFB 003.008\n")); err != nil {
		return err
	}
	n, err := v.r.ReadByte()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("server refused: %s", v.readString())
	}
	types := make([]byte, n)
	if _, err := io.ReadFull(v.r, types); err != nil {
		return err
	}
	if !bytes.Contains(types, []byte{1}) {
		return fmt.Errorf("server wants authentication (types %v); start it with -nopw", types)
	}
	if _, err := v.conn.Write([]byte{1}); err != nil {
		return err
	}
	var result uint32
	if err := binary.Read(v.r, binary.BigEndian, &result); err != nil {
		return err
	}
	if result != 0 {
		return fmt.Errorf("security failed: %s", v.readString())
	}
	if _, err := v.conn.Write([]byte{1}); err != nil { // ClientInit: shared
		return err
	}
	var init struct {
		W, H   uint16
		Format [16]byte
	}
	if err := binary.Read(v.r, binary.BigEndian, &init); err != nil {
		return err
	}
	_ = v.readString() // the desktop's name
	v.W, v.H = int(init.W), int(init.H)
	v.fb = make([]byte, v.W*v.H*4)
	// SetPixelFormat: 32 bpp, depth 24, little endian, true colour,
	// red/green/blue max 255 at shifts 16/8/0, so ZRLE sends 3-byte pixels.
	pf := []byte{0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0}
	enc := []byte{2, 0, 0, 3}
	for _, e := range []int32{encZRLE, encCopyRect, encRaw} {
		enc = binary.BigEndian.AppendUint32(enc, uint32(e))
	}
	if _, err := v.conn.Write(append(pf, enc...)); err != nil {
		return err
	}
	return v.Request(false)
}

// readString reads a u32-length-prefixed string, "" on error.
func (v *VNC) readString() string {
	var n uint32
	if binary.Read(v.r, binary.BigEndian, &n) != nil || n > 1<<20 {
		return ""
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(v.r, b); err != nil {
		return ""
	}
	return string(b)
}

// Request asks for an update of the whole screen: only what changed when
// incremental.
func (v *VNC) Request(incremental bool) error {
	msg := []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if incremental {
		msg[1] = 1
	}
	binary.BigEndian.PutUint16(msg[6:], uint16(v.W))
	binary.BigEndian.PutUint16(msg[8:], uint16(v.H))
	if _, err := v.conn.Write(msg); err != nil {
		return fmt.Errorf("vnc: request update: %w", err)
	}
	return nil
}

// Bytes is how many bytes the server has sent so far.
func (v *VNC) Bytes() int64 { return v.bytes.Load() }

// Close closes the connection; a blocked Next returns an error.
func (v *VNC) Close() error { return v.conn.Close() }

// Luma reads a pixel of the copy of the screen.
func (v *VNC) Luma(x, y int) int {
	i := (y*v.W + x) * 4
	return lumaOf(int(v.fb[i+2]), int(v.fb[i+1]), int(v.fb[i]))
}

// Next reads server messages until a framebuffer update has been applied,
// then asks for the next one, and returns.
func (v *VNC) Next() error {
	for {
		t, err := v.r.ReadByte()
		if err != nil {
			return fmt.Errorf("vnc: read: %w", err)
		}
		switch t {
		case 0:
			if err := v.update(); err != nil {
				return fmt.Errorf("vnc: update: %w", err)
			}
			return v.Request(true)
		case 1: // SetColourMapEntries: not used with true colour, skipped
			var h struct {
				Pad          byte
				First, Count uint16
			}
			if err := binary.Read(v.r, binary.BigEndian, &h); err != nil {
				return err
			}
			if _, err := v.r.Discard(int(h.Count) * 6); err != nil {
				return err
			}
		case 2: // Bell
		case 3: // ServerCutText
			if _, err := v.r.Discard(3); err != nil {
				return err
			}
			_ = v.readString()
		default:
			return fmt.Errorf("vnc: unknown server message %d", t)
		}
	}
}

func (v *VNC) update() error {
	var h struct {
		Pad   byte
		Rects uint16
	}
	if err := binary.Read(v.r, binary.BigEndian, &h); err != nil {
		return err
	}
	for range h.Rects {
		var r struct {
			X, Y, W, H uint16
			Enc        int32
		}
		if err := binary.Read(v.r, binary.BigEndian, &r); err != nil {
			return err
		}
		x, y, w, hh := int(r.X), int(r.Y), int(r.W), int(r.H)
		if x+w > v.W || y+hh > v.H {
			return fmt.Errorf("rect %dx%d+%d+%d outside the %dx%d screen", w, hh, x, y, v.W, v.H)
		}
		var err error
		switch r.Enc {
		case encRaw:
			err = v.raw(x, y, w, hh)
		case encCopyRect:
			err = v.copyRect(x, y, w, hh)
		case encZRLE:
			err = v.zrle(x, y, w, hh)
		default:
			err = fmt.Errorf("encoding %d was not asked for", r.Enc)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (v *VNC) raw(x, y, w, h int) error {
	for row := y; row < y+h; row++ {
		i := (row*v.W + x) * 4
		if _, err := io.ReadFull(v.r, v.fb[i:i+w*4]); err != nil {
			return err
		}
	}
	return nil
}

func (v *VNC) copyRect(x, y, w, h int) error {
	var src struct{ X, Y uint16 }
	if err := binary.Read(v.r, binary.BigEndian, &src); err != nil {
		return err
	}
	sx, sy := int(src.X), int(src.Y)
	if sx+w > v.W || sy+h > v.H {
		return fmt.Errorf("copy source outside the screen")
	}
	old := make([]byte, w*h*4)
	for r := range h {
		i := ((sy+r)*v.W + sx) * 4
		copy(old[r*w*4:], v.fb[i:i+w*4])
	}
	for r := range h {
		i := ((y+r)*v.W + x) * 4
		copy(v.fb[i:i+w*4], old[r*w*4:(r+1)*w*4])
	}
	return nil
}

// zrle applies one ZRLE rectangle. Its zlib data continues the stream of
// the rectangles before it, each piece ending in a sync flush: each piece
// is inflated with a fresh raw inflater primed with the previous 32 KiB.
func (v *VNC) zrle(x, y, w, h int) error {
	var n uint32
	if err := binary.Read(v.r, binary.BigEndian, &n); err != nil {
		return err
	}
	if n > 64<<20 {
		return fmt.Errorf("ZRLE length %d", n)
	}
	z := make([]byte, n)
	if _, err := io.ReadFull(v.r, z); err != nil {
		return err
	}
	if !v.zstart {
		if len(z) < 2 || z[0]&0x0f != 8 {
			return fmt.Errorf("ZRLE stream lacks a zlib header")
		}
		z, v.zstart = z[2:], true
	}
	data, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(z), v.zwin))
	// A piece ends at a sync flush, not at the stream's end.
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("inflate: %w", err)
	}
	v.zwin = append(v.zwin, data...)
	if len(v.zwin) > 32<<10 {
		v.zwin = append([]byte(nil), v.zwin[len(v.zwin)-32<<10:]...)
	}
	t := &tiles{b: data}
	for ty := y; ty < y+h; ty += 64 {
		for tx := x; tx < x+w; tx += 64 {
			if err := v.tile(t, tx, ty, min(64, x+w-tx), min(64, y+h-ty)); err != nil {
				return fmt.Errorf("tile at %d,%d: %w", tx, ty, err)
			}
		}
	}
	return nil
}

// tiles reads inflated ZRLE data.
type tiles struct {
	b   []byte
	err error
}

func (t *tiles) byte() int {
	if len(t.b) == 0 {
		t.err = io.ErrUnexpectedEOF
		return 0
	}
	c := t.b[0]
	t.b = t.b[1:]
	return int(c)
}

// cpixel reads a 3-byte pixel (blue, green, red) as BGRX.
func (t *tiles) cpixel() [4]byte {
	return [4]byte{byte(t.byte()), byte(t.byte()), byte(t.byte()), 0}
}

// runLength reads a ZRLE run: bytes of 255 continue it; the sum plus one.
func (t *tiles) runLength() int {
	n := 1
	for {
		c := t.byte()
		n += c
		if c != 255 || t.err != nil {
			return n
		}
	}
}

func (v *VNC) tile(t *tiles, x, y, w, h int) error {
	px := make([][4]byte, 0, w*h)
	sub := t.byte()
	switch {
	case sub == 0: // raw
		for range w * h {
			px = append(px, t.cpixel())
		}
	case sub == 1: // solid
		c := t.cpixel()
		for range w * h {
			px = append(px, c)
		}
	case sub <= 16: // packed palette
		pal := make([][4]byte, sub)
		for i := range pal {
			pal[i] = t.cpixel()
		}
		bits := 4
		switch {
		case sub == 2:
			bits = 1
		case sub <= 4:
			bits = 2
		}
		for range h {
			var cur, left int // rows start on a byte
			for range w {
				if left == 0 {
					cur, left = t.byte(), 8
				}
				left -= bits
				i := cur >> left & (1<<bits - 1)
				if i >= len(pal) {
					return fmt.Errorf("palette index %d of %d", i, len(pal))
				}
				px = append(px, pal[i])
			}
		}
	case sub == 128: // plain RLE
		for len(px) < w*h && t.err == nil {
			c := t.cpixel()
			for range t.runLength() {
				px = append(px, c)
			}
		}
	case sub >= 130: // palette RLE
		pal := make([][4]byte, sub-128)
		for i := range pal {
			pal[i] = t.cpixel()
		}
		for len(px) < w*h && t.err == nil {
			i, run := t.byte(), 1
			if i&128 != 0 {
				i, run = i&127, t.runLength()
			}
			if i >= len(pal) {
				return fmt.Errorf("palette index %d of %d", i, len(pal))
			}
			for range run {
				px = append(px, pal[i])
			}
		}
	default:
		return fmt.Errorf("unknown subencoding %d", sub)
	}
	if t.err != nil {
		return t.err
	}
	if len(px) != w*h {
		return fmt.Errorf("%d pixels for a %dx%d tile", len(px), w, h)
	}
	for r := range h {
		for c := range w {
			copy(v.fb[((y+r)*v.W+x+c)*4:], px[r*w+c][:])
		}
	}
	return nil
}
