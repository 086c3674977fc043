//go:build !windows

package capture

import "github.com/kbinani/screenshot"

// Displays lists the active screens, the primary one first (index 0), as
// NewScreen numbers them. It is empty when no display can be reached.
func Displays() []Display {
	n := screenshot.NumActiveDisplays()
	out := make([]Display, 0, n)
	for i := range n {
		if b := screenshot.GetDisplayBounds(i); !b.Empty() {
			out = append(out, Display{Index: i, Bounds: b})
		}
	}
	return out
}
