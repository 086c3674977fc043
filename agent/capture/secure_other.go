//go:build !windows

package capture

// SecureDesktop reports whether the screen shows a desktop the agent can
// neither capture nor control. Only Windows has one (UAC, Ctrl+Alt+Del);
// a macOS port would report its secure input prompts here.
func SecureDesktop() bool { return false }
