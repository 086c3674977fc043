//go:build windows

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// logWriter adds %LOCALAPPDATA%\Meekijk\agent.log to stderr: agent.exe is
// built as a GUI program (no console window beside the customer's
// browser), so when it is started from Explorer stderr goes nowhere and
// the file is the only log a technician can ask for.
func logWriter(stderr io.Writer) (io.Writer, func()) {
	dir, err := windows.KnownFolderPath(windows.FOLDERID_LocalAppData, 0)
	if err != nil {
		return stderr, func() {}
	}
	dir = filepath.Join(dir, "Meekijk")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return stderr, func() {}
	}
	f, err := os.OpenFile(filepath.Join(dir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return stderr, func() {}
	}
	if !hasStderr() {
		return f, func() { _ = f.Close() }
	}
	return io.MultiWriter(stderr, f), func() { _ = f.Close() }
}

// hasStderr reports whether stderr leads somewhere (a console, a pipe, a
// file): not when Explorer started the GUI program.
func hasStderr() bool {
	h, err := windows.GetStdHandle(windows.STD_ERROR_HANDLE)
	return err == nil && h != 0 && h != windows.InvalidHandle
}

// singleInstance holds a named mutex for the life of the agent. A customer
// who double-clicks agent.exe twice would otherwise get two pages and two
// sessions fighting over one screen; the second start says so instead.
// The name is per logged-in session (Local\), so fast user switching still
// lets each user run their own.
func singleInstance() (func(), error) {
	name, err := windows.UTF16PtrFromString(`Local\Meekijk.Agent`)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateMutex(nil, false, name)
	if errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		_ = windows.CloseHandle(h)
		return nil, errors.New("another agent.exe holds the Meekijk mutex")
	}
	if err != nil {
		return nil, fmt.Errorf("single-instance mutex: %w", err)
	}
	return func() { _ = windows.CloseHandle(h) }, nil
}

var procMessageBoxW = windows.NewLazySystemDLL("user32.dll").NewProc("MessageBoxW")

// tellUser shows msg in a dialog when there is no stderr to print it on
// (started from Explorer): a GUI program that fails silently looks like
// one that did nothing.
func tellUser(msg string) {
	if hasStderr() {
		return // main prints it
	}
	text, _ := windows.UTF16PtrFromString(msg)
	title, _ := windows.UTF16PtrFromString("Meekijk")
	const mbIconInformation = 0x40
	_, _, _ = procMessageBoxW.Call(0, uintptr(unsafe.Pointer(text)), uintptr(unsafe.Pointer(title)), mbIconInformation)
}

// userFolders are the usual folders for received files, in order: the
// known folders, which the customer (or a company policy) may have moved
// off the home folder, e.g. to OneDrive.
func userFolders(home string) []string {
	var out []string
	for _, id := range []*windows.KNOWNFOLDERID{windows.FOLDERID_Downloads, windows.FOLDERID_Desktop, windows.FOLDERID_Documents} {
		if dir, err := windows.KnownFolderPath(id, 0); err == nil {
			out = append(out, dir)
		}
	}
	if len(out) == 0 {
		out = append(out, filepath.Join(home, "Downloads"))
	}
	return out
}
