package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/meekijk/meekijk/relay/recording"
)

// RecordingsDir is where a data directory keeps session recordings.
func RecordingsDir(dataDir string) string { return filepath.Join(dataDir, "recordings") }

// How often the relay seals the recordings of ended sessions, and deletes
// those past the desk's retention: retention is counted in days, so an
// hour late is nothing.
const (
	recordingSealEvery   = 2 * time.Second
	recordingExpireEvery = time.Hour
)

// verifyRecordings checks the recordings of dataDir against the hashes in
// its (already verified) audit chain, naming each one that differs. It
// returns the line to print once everything else holds too.
func verifyRecordings(ctx context.Context, dataDir string, st recording.Store) (string, error) {
	svc := recording.New(RecordingsDir(dataDir), st, recording.Limits{}, slog.New(slog.DiscardHandler))
	problems, err := svc.Verify(ctx)
	if err != nil {
		return "", err
	}
	if len(problems) > 0 {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.String()
		}
		return "", fmt.Errorf("%d recording(s) do not match the audit chain:\n%s", len(problems), strings.Join(lines, "\n"))
	}
	return "recordings ok: every kept recording matches the hashes in the audit chain\n", nil
}
