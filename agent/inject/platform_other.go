//go:build !linux && !windows

package inject

func newKeyboard(string) (keyboard, error) { return &robotgoKeyboard{held: map[string]bool{}}, nil }

func closeDisplay() {}
