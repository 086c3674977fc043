// Package xvfb starts private X servers for tests that need a real display:
// the agent's capture and input injection, and the end-to-end tests.
package xvfb

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Available reports whether Xvfb is installed (scripts/deps.sh installs it).
func Available() bool {
	_, err := exec.LookPath("Xvfb")
	return err == nil
}

// Start starts an X server with one width×height screen on a free display,
// stopped when the test ends, and returns the display name (":N").
// -nolisten tcp keeps it off the network; -noreset keeps it from resetting
// whenever its last client disconnects.
func Start(t testing.TB, width, height int) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", width, height),
		"-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb (scripts/deps.sh installs it): %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatal("Xvfb did not report a display")
		}
		return ":" + n
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill() // unblocks the reader
		<-line
		t.Fatal("Xvfb did not start within 15 s")
	}
	return ""
}
