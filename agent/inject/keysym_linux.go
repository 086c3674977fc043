//go:build linux

package inject

import (
	"unicode/utf8"

	"github.com/jezek/xgb/xproto"
)

// X keysyms (X11/keysymdef.h) used here.
const (
	xkBackSpace = 0xff08
	xkTab       = 0xff09
	xkReturn    = 0xff0d
	xkEscape    = 0xff1b
	xkHome      = 0xff50
	xkLeft      = 0xff51
	xkUp        = 0xff52
	xkRight     = 0xff53
	xkDown      = 0xff54
	xkPrior     = 0xff55 // Page Up
	xkNext      = 0xff56 // Page Down
	xkEnd       = 0xff57
	xkPrint     = 0xff61
	xkInsert    = 0xff63
	xkMenu      = 0xff67
	xkF1        = 0xffbe // F1..F35 are consecutive
	xkShiftL    = 0xffe1
	xkShiftR    = 0xffe2
	xkControlL  = 0xffe3
	xkControlR  = 0xffe4
	xkCapsLock  = 0xffe5
	xkAltL      = 0xffe9
	xkAltR      = 0xffea
	xkSuperL    = 0xffeb
	xkSuperR    = 0xffec
	xkDelete    = 0xffff

	// xkUnicode is added to a code point to make its keysym (for code
	// points outside Latin-1, whose keysyms are the code point itself).
	xkUnicode = 0x01000000
)

// keysymsByName maps the key names of input.Injector, and robotgo's
// aliases for them, to keysyms. "cmd" is Super (the Windows key). Single
// characters are not here: see keysymForName.
var keysymsByName = map[string]xproto.Keysym{
	"enter": xkReturn, "tab": xkTab, "escape": xkEscape, "esc": xkEscape,
	"backspace": xkBackSpace, "delete": xkDelete, "insert": xkInsert,
	"home": xkHome, "end": xkEnd, "pageup": xkPrior, "pagedown": xkNext,
	"up": xkUp, "down": xkDown, "left": xkLeft, "right": xkRight,
	"space": ' ',
	"shift": xkShiftL, "lshift": xkShiftL, "rshift": xkShiftR,
	"ctrl": xkControlL, "control": xkControlL, "lctrl": xkControlL, "rctrl": xkControlR,
	"alt": xkAltL, "lalt": xkAltL, "ralt": xkAltR,
	"cmd": xkSuperL, "command": xkSuperL, "lcmd": xkSuperL, "rcmd": xkSuperR,
	"capslock": xkCapsLock, "menu": xkMenu, "print": xkPrint, "printscreen": xkPrint,
}

func init() {
	for i := 1; i <= 24; i++ {
		keysymsByName["f"+itoa(i)] = xproto.Keysym(xkF1 + i - 1)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// keysymForName returns the keysym of a key name: a named key, or a single
// printable character (the keysym of that character: "a", "1", "-").
func keysymForName(name string) (xproto.Keysym, bool) {
	if ks, ok := keysymsByName[name]; ok {
		return ks, true
	}
	r, n := utf8.DecodeRuneInString(name)
	if n != len(name) || r == utf8.RuneError {
		return 0, false
	}
	return runeKeysym(r)
}

// runeKeysym returns the keysym that types r: the code point itself for
// printable Latin-1, xkUnicode plus the code point otherwise. Control
// characters have none (Return and Tab are keys).
func runeKeysym(r rune) (xproto.Keysym, bool) {
	switch {
	case r < 0x20, r >= 0x7f && r < 0xa0, r > utf8.MaxRune:
		return 0, false
	case r < 0x100:
		return xproto.Keysym(r), true
	}
	return xproto.Keysym(xkUnicode + r), true
}
