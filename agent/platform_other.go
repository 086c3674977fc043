//go:build !windows

package main

import (
	"io"
	"path/filepath"
)

// logWriter is where the log goes: stderr, which a terminal or the
// desktop session's log keeps.
func logWriter(stderr io.Writer) (io.Writer, func()) { return stderr, func() {} }

// singleInstance: on Linux a second agent is harmless (each has its own
// page and port); Windows users double-click twice, so only Windows guards.
func singleInstance() (func(), error) { return func() {}, nil }

// tellUser: the error is printed on stderr by main.
func tellUser(string) {}

// userFolders are the usual folders for received files, in order.
func userFolders(home string) []string {
	return []string{filepath.Join(home, "Downloads"), filepath.Join(home, "Desktop"), filepath.Join(home, "Documents")}
}
