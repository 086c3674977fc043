package h264

import (
	"image"
	"strings"
	"testing"
)

// gradient is a size picture that differs with seed.
func gradient(size image.Point, seed int) *image.YCbCr {
	p := image.NewYCbCr(image.Rectangle{Max: size}, image.YCbCrSubsampleRatio420)
	for y := range size.Y {
		for x := range size.X {
			p.Y[y*p.YStride+x] = byte(x + y + seed)
		}
	}
	for i := range p.Cb {
		p.Cb[i], p.Cr[i] = 128, byte(100+seed)
	}
	return p
}

// TestSizeChangeAtIDR: two encoders of different sizes take turns on one
// decoder, each starting with an IDR, as the frame loop does when it
// changes resolution for motion; every picture decodes at its own size.
func TestSizeChangeAtIDR(t *testing.T) {
	big, small := image.Pt(320, 240), image.Pt(160, 120)
	encs := map[image.Point]*Encoder{}
	for _, sz := range []image.Point{big, small} {
		e, err := NewEncoder(Params{Size: sz, FPS: 30, BitRate: 1_000_000, Screen: sz == big, MinQP: 16, MaxQP: 35})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		encs[sz] = e
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for i, sz := range []image.Point{big, big, small, small, big} {
		first := i == 0 || sz != []image.Point{big, big, small, small, big}[i-1]
		f, err := encs[sz].Encode(gradient(sz, i), first)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Data) == 0 || f.IDR != first {
			t.Fatalf("picture %d (%v): %d bytes, IDR %v, want IDR %v", i, sz, len(f.Data), f.IDR, first)
		}
		pic, err := dec.Decode(f.Data)
		if err != nil {
			t.Fatalf("picture %d: %v", i, err)
		}
		if pic == nil || pic.Rect.Size() != sz {
			t.Fatalf("picture %d decoded as %v, want %v", i, pic, sz)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, p := range []Params{
		{Size: image.Pt(321, 240), FPS: 30, BitRate: 1},
		{Size: image.Pt(320, 240), FPS: 0, BitRate: 1},
		{Size: image.Pt(320, 240), FPS: 30, BitRate: 1, MinQP: 30, MaxQP: 20},
	} {
		if e, err := NewEncoder(p); err == nil {
			e.Close()
			t.Errorf("NewEncoder(%+v) accepted", p)
		}
	}
	e, err := NewEncoder(Params{Size: image.Pt(320, 240), FPS: 30, BitRate: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Encode(gradient(image.Pt(160, 120), 0), false); err == nil || !strings.Contains(err.Error(), "encoder wants") {
		t.Errorf("a picture of the wrong size: %v", err)
	}
	if err := e.SetBitRate(0); err == nil {
		t.Error("SetBitRate(0) accepted")
	}
	e.Close()
	e.Close()
	if _, err := e.Encode(gradient(image.Pt(320, 240), 0), false); err == nil {
		t.Error("Encode after Close accepted")
	}
}
