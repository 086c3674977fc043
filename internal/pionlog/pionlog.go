// Package pionlog routes the pion libraries' logging (WebRTC, ICE, DTLS,
// TURN) into our slog loggers, so there is one log with one format and
// pion's chatter sits at the levels we choose.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory routes pion's internal logging into a slog logger; pion would
// otherwise write to stderr on its own. Give it to a SettingEngine or a
// TURN server config as their LoggerFactory.
type Factory struct{ log *slog.Logger }

// New returns a Factory logging to log.
func New(log *slog.Logger) Factory { return Factory{log} }

// NewLogger gives one pion component its logger, tagged with its scope.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return Logger{f.log.With("pion", scope)}
}

// levelTrace sits below Debug: pion's trace output is per packet.
const levelTrace = slog.LevelDebug - 4

// Logger maps pion's levels onto slog's. Pion's Info is demoted to Debug:
// in WebRTC it narrates library internals (every state change of every
// transport) which our code reports once at its own level, and in the TURN
// server it reports events any remote party can trigger at packet rate,
// which must not be able to flood the relay's log.
type Logger struct{ log *slog.Logger }

func (l Logger) emit(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg)
}

// emitf formats only when the level is enabled: pion's trace and debug
// calls come per packet and would otherwise cost a Sprintf each.
func (l Logger) emitf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l Logger) Trace(msg string)                  { l.emit(levelTrace, msg) }
func (l Logger) Tracef(format string, args ...any) { l.emitf(levelTrace, format, args...) }
func (l Logger) Debug(msg string)                  { l.emit(slog.LevelDebug, msg) }
func (l Logger) Debugf(format string, args ...any) { l.emitf(slog.LevelDebug, format, args...) }
func (l Logger) Info(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l Logger) Infof(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args...) }
func (l Logger) Warn(msg string)                   { l.emit(slog.LevelWarn, msg) }
func (l Logger) Warnf(format string, args ...any)  { l.emitf(slog.LevelWarn, format, args...) }
func (l Logger) Error(msg string)                  { l.emit(slog.LevelError, msg) }
func (l Logger) Errorf(format string, args ...any) { l.emitf(slog.LevelError, format, args...) }
