//go:build !(linux && cgo) && !windows

package capture

import (
	"errors"
	"image"
)

// newXShm has no shared-memory path to offer here: NewScreen falls back
// to kbinani/screenshot.
func newXShm(int, image.Rectangle) (Source, error) {
	return nil, errors.New("capture: X11 shared memory needs linux and cgo")
}
