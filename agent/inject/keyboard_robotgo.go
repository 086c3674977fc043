//go:build !windows

//lint:file-ignore U1000 used only where platform_other.go builds (macOS); compiled on Linux too so the Linux build checks it.

package inject

import "github.com/go-vgo/robotgo"

// robotgoKeyboard is the keyboard on macOS. It is compiled on Linux too
// (so the Linux build checks it) but used only there.
type robotgoKeyboard struct {
	held map[string]bool // pressed by key, by name
}

// robotgoNamed are the input.Injector key names that are not a single
// character. robotgo uses the same names (and has aliases like "esc",
// "control" and "command" that input does not emit); the table only keeps
// other names away from robotgo, which would press the wrong key or none.
var robotgoNamed = map[string]bool{
	"enter": true, "tab": true, "escape": true, "esc": true, "backspace": true,
	"delete": true, "insert": true, "home": true, "end": true,
	"pageup": true, "pagedown": true, "up": true, "down": true, "left": true, "right": true,
	"space": true, "shift": true, "ctrl": true, "control": true, "alt": true,
	"cmd": true, "command": true,
	"f1": true, "f2": true, "f3": true, "f4": true, "f5": true, "f6": true,
	"f7": true, "f8": true, "f9": true, "f10": true, "f11": true, "f12": true,
	"f13": true, "f14": true, "f15": true, "f16": true, "f17": true, "f18": true,
	"f19": true, "f20": true, "f21": true, "f22": true, "f23": true, "f24": true,
}

// robotgoKeyName checks a key name: a named key, or one printable ASCII
// character (robotgo adds Shift itself for an uppercase letter and for the
// shifted US symbols, "!" being Shift+1).
func robotgoKeyName(name string) bool {
	if robotgoNamed[name] {
		return true
	}
	return len(name) == 1 && name[0] > ' ' && name[0] < 0x7f
}

func (k *robotgoKeyboard) key(name string, down bool) {
	if !robotgoKeyName(name) {
		return
	}
	dir := "up"
	if down {
		dir = "down"
		k.held[name] = true
	} else {
		delete(k.held, name)
	}
	_ = robotgo.KeyToggle(name, dir) // fails only for names checked above
}

func (*robotgoKeyboard) typeText(text string) { robotgo.TypeStr(text) }

// close releases the keys still held.
func (k *robotgoKeyboard) close() error {
	for name := range k.held {
		k.key(name, false)
	}
	return nil
}

func (*robotgoKeyboard) err() error { return nil }
