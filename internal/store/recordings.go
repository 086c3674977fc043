package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Session events of a recording (docs/audit.md). Like every session event
// each is an audit entry, so the chunk and file hashes are sealed in the
// chain as they arrive.
const (
	// EventRecordingAsked: the customer was asked {"version", "reason"}.
	EventRecordingAsked = "recording_asked"
	// EventRecordingGranted / Refused: the answer, with the text read
	// {"version", "lang", "text", "textSha256"}.
	EventRecordingGranted = "recording_granted"
	EventRecordingRefused = "recording_refused"
	// EventRecordingChunk: a chunk stored {"seq", "offset", "bytes", "sha256"}.
	EventRecordingChunk = "recording_chunk"
	// EventRecordingSealed: the file is complete {"chunks", "bytes", "sha256"}.
	EventRecordingSealed = "recording_sealed"
	// EventRecordingDeleted: the file was deleted {"reason", "sha256"}.
	EventRecordingDeleted = "recording_deleted"
	// EventClipboard: the technician read or wrote the customer's
	// clipboard {"direction", "bytes"}; the text itself is never kept.
	EventClipboard = "clipboard"
)

// RecordingMode is the desk's choice of when to ask customers whether a
// session may be recorded.
type RecordingMode string

const (
	RecordingOff RecordingMode = "off"
	// RecordingAsk asks once the customer allowed viewing.
	RecordingAsk RecordingMode = "ask"
	// RecordingAskData asks once a data intervention was accepted.
	RecordingAskData RecordingMode = "ask_data"
)

// Valid reports whether m is a known mode.
func (m RecordingMode) Valid() bool {
	return m == RecordingOff || m == RecordingAsk || m == RecordingAskData
}

const (
	settingRecordingMode      = "recording.mode"
	settingRecordingRetention = "recording.retention_days"

	// DefaultRecordingRetentionDays keeps a recording about as long as
	// a bill can be disputed.
	DefaultRecordingRetentionDays = 90
	// MaxRecordingRetentionDays bounds the setting (ten years).
	MaxRecordingRetentionDays = 3650
)

// RecordingSettings are the desk's recording rules.
type RecordingSettings struct {
	Mode          RecordingMode
	RetentionDays int
}

// RecordingSettings returns the desk's settings, or the defaults (off,
// DefaultRecordingRetentionDays).
func (s *Store) RecordingSettings(ctx context.Context) (RecordingSettings, error) {
	out := RecordingSettings{Mode: RecordingOff, RetentionDays: DefaultRecordingRetentionDays}
	if v, ok, err := s.Setting(ctx, settingRecordingMode); err != nil {
		return out, err
	} else if ok {
		if m := RecordingMode(v); m.Valid() {
			out.Mode = m
		} else {
			return out, fmt.Errorf("store: setting %s = %q is not a recording mode", settingRecordingMode, v)
		}
	}
	if v, ok, err := s.Setting(ctx, settingRecordingRetention); err != nil {
		return out, err
	} else if ok {
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 || days > MaxRecordingRetentionDays {
			return out, fmt.Errorf("store: setting %s = %q is not a number of days", settingRecordingRetention, v)
		}
		out.RetentionDays = days
	}
	return out, nil
}

// ErrBadSetting is returned for a setting out of its range.
var ErrBadSetting = errors.New("setting out of range")

// SetRecordingSettings stores the desk's recording rules (audited).
func (s *Store) SetRecordingSettings(ctx context.Context, r RecordingSettings) error {
	if !r.Mode.Valid() {
		return fmt.Errorf("store: recording mode %q: %w", r.Mode, ErrBadSetting)
	}
	if r.RetentionDays < 1 || r.RetentionDays > MaxRecordingRetentionDays {
		return fmt.Errorf("store: recording retention %d days: %w", r.RetentionDays, ErrBadSetting)
	}
	if err := s.SetSetting(ctx, settingRecordingMode, string(r.Mode)); err != nil {
		return err
	}
	return s.SetSetting(ctx, settingRecordingRetention, strconv.Itoa(r.RetentionDays))
}

// Recording is where one session's recording stands.
type Recording struct {
	SessionID int64
	Chunks    int64
	Bytes     int64
	StartedAt time.Time
	SealedAt  time.Time // zero while open
	SHA256    []byte    // the whole file's, once sealed
	DeletedAt time.Time // zero while the file is kept
}

// ErrRecordingState is returned for a chunk out of order, or for a chunk
// or seal of a recording already sealed.
var ErrRecordingState = errors.New("recording: chunk out of order or recording sealed")

const recordingSelect = "SELECT session_id, chunks, bytes, started_at, sealed_at, sha256, deleted_at FROM recordings"

func scanRecording(r interface{ Scan(...any) error }) (Recording, error) {
	var rec Recording
	var started int64
	var sealed, deleted sql.NullInt64
	err := r.Scan(&rec.SessionID, &rec.Chunks, &rec.Bytes, &started, &sealed, &rec.SHA256, &deleted)
	rec.StartedAt, rec.SealedAt, rec.DeletedAt = fromMS(started), fromNullMS(sealed), fromNullMS(deleted)
	return rec, err
}

// OpenRecording starts the recording of a session, uploadable with the
// token whose SHA-256 is given.
func (s *Store) OpenRecording(ctx context.Context, sessionID int64, tokenSHA256 []byte) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO recordings (session_id, token_sha256, started_at) VALUES (?, ?, ?)",
			sessionID, tokenSHA256, s.nowMS())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: open recording of session %d: %w", sessionID, err)
	}
	return nil
}

// Recording returns a session's recording.
func (s *Store) Recording(ctx context.Context, sessionID int64) (Recording, error) {
	return one(s.db.QueryRowContext(ctx, recordingSelect+" WHERE session_id = ?", sessionID), scanRecording,
		fmt.Sprintf("recording of session %d", sessionID))
}

// RecordingByToken returns the recording an upload token opens.
func (s *Store) RecordingByToken(ctx context.Context, tokenSHA256 []byte) (Recording, error) {
	return one(s.db.QueryRowContext(ctx, recordingSelect+" WHERE token_sha256 = ?", tokenSHA256), scanRecording, "recording by token")
}

// Recordings returns the recordings whose files are kept, oldest first.
func (s *Store) Recordings(ctx context.Context) ([]Recording, error) {
	rows, err := s.db.QueryContext(ctx, recordingSelect+" WHERE deleted_at IS NULL ORDER BY session_id")
	if err != nil {
		return nil, fmt.Errorf("store: recordings: %w", err)
	}
	return collect(rows, scanRecording)
}

// ExpiredRecordings returns the kept recordings sealed before t.
func (s *Store) ExpiredRecordings(ctx context.Context, t time.Time) ([]Recording, error) {
	rows, err := s.db.QueryContext(ctx, recordingSelect+" WHERE deleted_at IS NULL AND sealed_at < ? ORDER BY session_id", t.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: expired recordings: %w", err)
	}
	return collect(rows, scanRecording)
}

// AddRecordingChunk records that chunk seq (size bytes at offset, with
// SHA-256 sum) was stored, in the table and the audit chain at once. The
// chunk must be the next one of a recording still open.
func (s *Store) AddRecordingChunk(ctx context.Context, sessionID, seq, offset, size int64, sum []byte) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recordings SET chunks = chunks + 1, bytes = bytes + ?
			WHERE session_id = ? AND chunks = ? AND bytes = ? AND sealed_at IS NULL`, size, sessionID, seq, offset)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return ErrRecordingState
		}
		return s.insertEvent(ctx, tx, sessionID, s.nowMS(), EventRecordingChunk, "agent",
			map[string]any{"seq": seq, "offset": offset, "bytes": size, "sha256": hex.EncodeToString(sum)})
	})
	if err != nil {
		return fmt.Errorf("store: recording chunk %d of session %d: %w", seq, sessionID, err)
	}
	return nil
}

// SealRecording records the whole file's hash: the recording is complete
// and takes no more chunks.
func (s *Store) SealRecording(ctx context.Context, sessionID int64, sum []byte) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var chunks, size int64
		err := tx.QueryRowContext(ctx, "SELECT chunks, bytes FROM recordings WHERE session_id = ? AND sealed_at IS NULL",
			sessionID).Scan(&chunks, &size)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrRecordingState
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE recordings SET sealed_at = ?, sha256 = ? WHERE session_id = ?",
			s.nowMS(), sum, sessionID); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, sessionID, s.nowMS(), EventRecordingSealed, "relay",
			map[string]any{"chunks": chunks, "bytes": size, "sha256": hex.EncodeToString(sum)})
	})
	if err != nil {
		return fmt.Errorf("store: seal recording of session %d: %w", sessionID, err)
	}
	return nil
}

// DeleteRecording records that a recording's file was deleted, and why.
func (s *Store) DeleteRecording(ctx context.Context, sessionID int64, reason string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var sum []byte
		if err := tx.QueryRowContext(ctx, "SELECT sha256 FROM recordings WHERE session_id = ? AND deleted_at IS NULL",
			sessionID).Scan(&sum); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE recordings SET deleted_at = ? WHERE session_id = ?", s.nowMS(), sessionID); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, sessionID, s.nowMS(), EventRecordingDeleted, "relay",
			map[string]any{"reason": reason, "sha256": hex.EncodeToString(sum)})
	})
	if err != nil {
		return fmt.Errorf("store: delete recording of session %d: %w", sessionID, err)
	}
	return nil
}

// UnsealedRecordingsOfEndedSessions returns the recordings still open
// whose session ended before t.
func (s *Store) UnsealedRecordingsOfEndedSessions(ctx context.Context, t time.Time) ([]Recording, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.session_id, r.chunks, r.bytes, r.started_at, r.sealed_at, r.sha256, r.deleted_at
		FROM recordings r JOIN remote_sessions s ON s.id = r.session_id
		WHERE r.sealed_at IS NULL AND s.ended_at < ? ORDER BY r.session_id`, t.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: unsealed recordings: %w", err)
	}
	return collect(rows, scanRecording)
}
