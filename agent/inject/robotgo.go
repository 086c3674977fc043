//go:build !windows

package inject

import (
	"fmt"

	"github.com/go-vgo/robotgo"
)

// robotgoPointer is the mouse on Linux and macOS.
type robotgoPointer struct{}

func newPointer() pointer { return robotgoPointer{} }

func (robotgoPointer) move(x, y int) { robotgo.Move(x, y) }

// button presses or releases a button; robotgo calls the middle one
// "center".
func (robotgoPointer) button(name string, down bool) {
	if name == "middle" {
		name = "center"
	}
	dir := "up"
	if down {
		dir = "down"
	}
	_ = robotgo.Toggle(name, dir) // never fails
}

// scroll: robotgo counts the other way (positive y is up: X11 button 4),
// so both are negated.
func (robotgoPointer) scroll(dx, dy int) { robotgo.Scroll(-dx, -dy, 0) } // 0: no sleep after

func readClipboard() (string, error) {
	text, err := robotgo.ReadAll()
	if err != nil {
		return "", fmt.Errorf("inject: read clipboard: %w", err)
	}
	return text, nil
}

func writeClipboard(text string) error {
	if err := robotgo.WriteAll(text); err != nil {
		return fmt.Errorf("inject: write clipboard: %w", err)
	}
	return nil
}
