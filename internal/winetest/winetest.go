// Package winetest runs the Windows agent under Debian's Wine for the
// end-to-end tests and the benchmark: it cross-builds agent.exe with mingw
// as `make agent-windows` does, and prepares a private Wine prefix with
// the one DLL Wine 8 lacks for Go programs. Nothing here is shipped.
package winetest

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// bcryptShim stands in for bcryptprimitives.dll (see the file's comment).
//
//go:embed testdata/bcryptprimitives.c
var bcryptShim []byte

// ErrMissing wraps the reason Wine programs cannot run here at all (wine
// or mingw not installed): callers skip rather than fail.
var ErrMissing = errors.New("wine or mingw missing")

// Wine is a private prefix with agent.exe built for it.
type Wine struct {
	Dir    string // everything below is in it
	Exe    string // agent.exe
	Prefix string // WINEPREFIX
}

// Prepare cross-builds agent.exe from the repository at repo with ldflags
// (e.g. "-X main.version=… -s -w"; "-H windowsgui" hides its output) and
// boots a fresh prefix. Close removes both.
func Prepare(repo, ldflags string) (*Wine, error) {
	for _, tool := range []string{"wine", "wineboot", "x86_64-w64-mingw32-gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%w: %s not found (Debian: wine wine64 gcc-mingw-w64-x86-64; scripts/deps.sh installs them)", ErrMissing, tool)
		}
	}
	dir, err := os.MkdirTemp("", "meekijk-wine-")
	if err != nil {
		return nil, err
	}
	w := &Wine{Dir: dir, Exe: filepath.Join(dir, "agent.exe"), Prefix: filepath.Join(dir, "prefix")}
	if err := w.prepare(repo, ldflags); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *Wine) prepare(repo, ldflags string) error {
	build := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags+` -extldflags "-static"`, "-o", w.Exe, "./agent")
	build.Dir = repo
	build.Env = append(os.Environ(), CrossEnv()...)
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("cross-build agent.exe: %v\n%s", err, out)
	}
	src := filepath.Join(w.Dir, "bcryptprimitives.c")
	if err := os.WriteFile(src, bcryptShim, 0o644); err != nil {
		return err
	}
	shim, err := w.BuildC(src, "bcryptprimitives.dll", "-shared", "-ladvapi32")
	if err != nil {
		return err
	}
	boot := exec.Command("wineboot", "-i")
	boot.Env = append(os.Environ(), w.Env("")...)
	if out, err := boot.CombinedOutput(); err != nil {
		return fmt.Errorf("create the Wine prefix: %v\n%s", err, out)
	}
	data, err := os.ReadFile(shim)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(w.Prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll"), data, 0o644)
}

// CrossEnv is what go build needs added to the environment to build for
// Windows with mingw (cgo: OpenH264 is linked in).
func CrossEnv() []string {
	return []string{"CGO_ENABLED=1", "GOOS=windows", "GOARCH=amd64",
		"CC=x86_64-w64-mingw32-gcc", "CXX=x86_64-w64-mingw32-g++"}
}

// BuildC compiles a C source with mingw into name in the prefix's
// directory; flags go before the source, libraries after it.
func (w *Wine) BuildC(src, name string, flags ...string) (string, error) {
	out := filepath.Join(w.Dir, name)
	var libs []string
	var opts []string
	for _, f := range flags {
		if len(f) > 2 && f[:2] == "-l" {
			libs = append(libs, f)
		} else {
			opts = append(opts, f)
		}
	}
	args := append(append(opts, "-O2", "-o", out, src), libs...)
	if b, err := exec.Command("x86_64-w64-mingw32-gcc", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", name, err, b)
	}
	return out, nil
}

// Env is what a Wine program on display needs added to the environment:
// the private prefix, quiet Wine, the shim preferred to Wine's own
// (missing) DLL, and no Mono or Gecko installer dialogs.
func (w *Wine) Env(display string) []string {
	env := []string{"WINEPREFIX=" + w.Prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=bcryptprimitives=n;mscoree,mshtml=",
		"WINEARCH=win64"}
	if display != "" {
		env = append(env, "DISPLAY="+display)
	}
	return env
}

// Close stops the prefix's wineserver and removes everything.
func (w *Wine) Close() {
	kill := exec.Command("wineserver", "-k")
	kill.Env = append(os.Environ(), w.Env("")...)
	_ = kill.Run()
	_ = os.RemoveAll(w.Dir)
}
