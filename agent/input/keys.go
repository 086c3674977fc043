package input

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/meekijk/meekijk/internal/datachannel"
)

// Injector key names for the modifiers. Left and right variants map to the
// same name; the Controller counts who holds it (see Controller.Key).
const (
	KeyShift = "shift"
	KeyCtrl  = "ctrl"
	KeyAlt   = "alt"
	KeyCmd   = "cmd" // Meta: the Windows key, Command on macOS, Super on Linux
)

var modifiers = map[string]bool{KeyShift: true, KeyCtrl: true, KeyAlt: true, KeyCmd: true}

// namedByKey maps KeyboardEvent.key values that name a key (rather than a
// character) to injector key names. The key value is tried first because it
// is layout-independent for these keys and follows NumLock: Numpad4 with
// NumLock off is key "ArrowLeft".
var namedByKey = map[string]string{
	"Enter": "enter", "Tab": "tab", "Escape": "escape", "Esc": "escape",
	"Backspace": "backspace", "Delete": "delete", "Del": "delete", "Insert": "insert",
	"Home": "home", "End": "end", "PageUp": "pageup", "PageDown": "pagedown",
	"ArrowUp": "up", "ArrowDown": "down", "ArrowLeft": "left", "ArrowRight": "right",
	" ": "space", "Spacebar": "space",
	"Shift": KeyShift, "Control": KeyCtrl, "Alt": KeyAlt, "Meta": KeyCmd, "OS": KeyCmd,
}

// namedByCode maps KeyboardEvent.code values to injector key names, for
// events whose key value says nothing useful ("Unidentified").
var namedByCode = map[string]string{
	"Enter": "enter", "NumpadEnter": "enter", "Tab": "tab", "Escape": "escape",
	"Backspace": "backspace", "Delete": "delete", "Insert": "insert",
	"Home": "home", "End": "end", "PageUp": "pageup", "PageDown": "pagedown",
	"ArrowUp": "up", "ArrowDown": "down", "ArrowLeft": "left", "ArrowRight": "right",
	"Space":     "space",
	"ShiftLeft": KeyShift, "ShiftRight": KeyShift,
	"ControlLeft": KeyCtrl, "ControlRight": KeyCtrl,
	"AltLeft": KeyAlt, "AltRight": KeyAlt,
	"MetaLeft": KeyCmd, "MetaRight": KeyCmd, "OSLeft": KeyCmd, "OSRight": KeyCmd,
}

// charByCode maps the codes of character keys to the character they carry on
// a US keyboard. It is used for shortcuts only (Ctrl+1 from an AZERTY
// keyboard, whose key value is "&"; Ctrl+C from a Russian one, whose key
// value is "с"), where the key's identity matters more than its character.
var charByCode = map[string]string{
	"Minus": "-", "Equal": "=", "BracketLeft": "[", "BracketRight": "]",
	"Backslash": `\`, "Semicolon": ";", "Quote": "'", "Backquote": "`",
	"Comma": ",", "Period": ".", "Slash": "/",
}

// ignoredKeys are key values that produce nothing by themselves and must not
// be injected:
//   - AltGraph only selects another character, which arrives as the key
//     value of the next event and is typed; holding Alt on the customer's
//     side instead would turn that character into an Alt shortcut.
//   - Dead, Compose and Process (IME) start a composition whose result
//     arrives as a later key value or as a text message.
//   - The lock keys: characters are typed by value, so the technician's
//     CapsLock is already in them, and the customer's lock state is theirs.
var ignoredKeys = map[string]bool{
	"AltGraph": true, "Dead": true, "Compose": true, "Process": true,
	"CapsLock": true, "NumLock": true, "ScrollLock": true,
}

func init() {
	for i := 1; i <= 24; i++ {
		f := "F" + itoa(i)
		namedByKey[f] = strings.ToLower(f)
		namedByCode[f] = strings.ToLower(f)
	}
	for c := 'A'; c <= 'Z'; c++ {
		charByCode["Key"+string(c)] = string(c + 'a' - 'A')
	}
	for c := '0'; c <= '9'; c++ {
		charByCode["Digit"+string(c)] = string(c)
		charByCode["Numpad"+string(c)] = string(c)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// keyKind is what a key down turns into.
type keyKind int

const (
	kindUnmapped keyKind = iota // nothing we can inject
	kindIgnored                 // deliberately not injected
	kindNamed                   // Injector.Key(name, …)
	kindTyped                   // Injector.Type(text)
)

// translate decides what a key down means on the customer's machine.
//
// Printable characters are typed by value (Injector.Type) rather than sent as
// key codes, unless a command modifier makes the key a shortcut. The
// technician's keyboard layout is not the customer's: a technician on QWERTY
// pressing the key labelled "2" with Shift means "@", and sending the key
// code of that key to a Belgian AZERTY machine would produce "2"; sending
// "é" as a key code is impossible where no key carries it. Typing by value
// gives the customer the character the technician saw, whatever both layouts
// are. The cost is that applications that read raw key codes for single
// letters (some point-of-sale hotkeys) see a typed character instead.
//
// Shortcuts (Ctrl, Cmd, or Alt with a letter or digit) are sent as keys with
// the modifiers held: letters by their key value (Ctrl+Z on AZERTY is the
// key labelled Z, wherever it is), anything else by its US position (Ctrl+1,
// Ctrl+-). Alt or Ctrl+Alt with any other character is AltGr on Windows
// (which reports Ctrl+Alt) or Option on macOS composing a character, so that
// character is typed.
func translate(k datachannel.Key) (keyKind, string) {
	if ignoredKeys[k.Key] {
		return kindIgnored, ""
	}
	if name, ok := namedByKey[k.Key]; ok {
		return kindNamed, name
	}
	if isText(k.Key) {
		r, _ := utf8.DecodeRuneInString(k.Key)
		alnum := utf8.RuneCountInString(k.Key) == 1 && r < utf8.RuneSelf && isASCIIAlnum(byte(r))
		switch {
		case !k.Ctrl && !k.Alt && !k.Meta:
			return kindTyped, k.Key
		case k.Alt && !k.Meta && !alnum:
			return kindTyped, k.Key
		}
		if alnum && unicode.IsLetter(r) {
			return kindNamed, strings.ToLower(k.Key)
		}
		if c, ok := charByCode[k.Code]; ok {
			return kindNamed, c
		}
		if utf8.RuneCountInString(k.Key) == 1 && r < utf8.RuneSelf {
			return kindNamed, k.Key
		}
		return kindUnmapped, ""
	}
	if name, ok := namedByCode[k.Code]; ok {
		return kindNamed, name
	}
	if c, ok := charByCode[k.Code]; ok {
		return kindNamed, c
	}
	return kindUnmapped, ""
}

// isText reports whether a key value is a character (or a short cluster,
// like a letter with a combining accent) rather than a key name: key names
// are ASCII words ("ContextMenu"), characters are anything printable that is
// not such a word.
func isText(s string) bool {
	n := utf8.RuneCountInString(s)
	if n == 0 || n > 4 {
		return false
	}
	word := n > 1
	for _, r := range s {
		if !unicode.IsGraphic(r) || r == ' ' && n > 1 {
			return false
		}
		if r >= utf8.RuneSelf || !isASCIIAlnum(byte(r)) {
			word = false
		}
	}
	return !word
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
