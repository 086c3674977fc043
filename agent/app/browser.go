package app

import (
	"log/slog"
	"os/exec"
	"runtime"
)

// openBrowser opens url in the customer's default browser. The browser is
// the customer's program, not ours: it is started and let go, never waited
// for or killed when the agent exits.
func openBrowser(url string, log *slog.Logger) {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	case "darwin":
		cmd = exec.Command("open", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		log.Warn("could not open the browser; open the address shown by hand", "err", err)
		return
	}
	_ = cmd.Process.Release()
}
