package console

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/store"
)

// RecordingFiles serves the files of session recordings (relay/recording).
type RecordingFiles interface {
	ServeFile(w http.ResponseWriter, r *http.Request, sessionID int64) error
}

// recordingRoutes: playback for the admins and the session's own
// technicians; the desk's recording rules for admins.
func (c *console) recordingRoutes(protect func(string, apiFunc, []store.Role), staff, admin []store.Role) {
	protect("GET /api/v1/sessions/{id}/recording", c.recording, staff)
	protect("GET /api/v1/sessions/{id}/recording/file", c.recordingFile, staff)
	protect("GET /api/v1/settings/recording", c.getRecordingSettings, admin)
	protect("PUT /api/v1/settings/recording", c.putRecordingSettings, admin)
}

// errNoRecording is the answer for a recording that does not exist and
// for one the user may not see alike: another technician learns nothing.
var errNoRecording = httpx.Errorf(http.StatusNotFound, "not_found", "no such recording")

// mayWatch reports whether the user may see a session's recording: an
// admin, the technician it was started by, or one it was handed over to.
func (c *console) mayWatch(ctx context.Context, u store.User, s store.Session) (bool, error) {
	if u.Role == store.RoleAdmin || s.TechnicianID == u.ID {
		return true, nil
	}
	evs, err := c.Store.Events(ctx, s.ID)
	if err != nil {
		return false, err
	}
	for _, e := range evs {
		if e.Kind != store.EventHandover {
			continue
		}
		var d struct {
			TechnicianID int64 `json:"technicianId"`
		}
		if json.Unmarshal(e.Detail, &d) == nil && d.TechnicianID == u.ID {
			return true, nil
		}
	}
	return false, nil
}

// watchable returns the session's recording if the user may see it.
func (c *console) watchable(r *http.Request) (store.Session, store.Recording, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Session{}, store.Recording{}, err
	}
	s, err := c.Store.Session(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return s, store.Recording{}, errNoRecording
	}
	if err != nil {
		return s, store.Recording{}, err
	}
	if ok, err := c.mayWatch(r.Context(), login(r).User, s); err != nil || !ok {
		return s, store.Recording{}, errors.Join(err, errNoRecording)
	}
	rec, err := c.Store.Recording(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return s, rec, errNoRecording
	}
	return s, rec, err
}

// recording is a session's recording with the session's timeline: every
// audited step (consents, control, chat, clipboard, files) with its time,
// so the page can put them beside the video.
func (c *console) recording(w http.ResponseWriter, r *http.Request) error {
	s, rec, err := c.watchable(r)
	if err != nil {
		return err
	}
	entries, err := c.Store.SessionAudit(r.Context(), s.ID)
	if err != nil {
		return err
	}
	out := struct {
		Session   sessionJSON      `json:"session"`
		StartedAt time.Time        `json:"startedAt"`
		SealedAt  time.Time        `json:"sealedAt,omitzero"`
		DeletedAt time.Time        `json:"deletedAt,omitzero"`
		Chunks    int64            `json:"chunks"`
		Bytes     int64            `json:"bytes"`
		SHA256    string           `json:"sha256,omitempty"`
		Events    []auditEntryJSON `json:"events"`
	}{Session: c.sessionOf(s), StartedAt: rec.StartedAt, SealedAt: rec.SealedAt, DeletedAt: rec.DeletedAt,
		Chunks: rec.Chunks, Bytes: rec.Bytes, SHA256: hex.EncodeToString(rec.SHA256), Events: []auditEntryJSON{}}
	for _, e := range entries {
		out.Events = append(out.Events, auditEntryOf(e))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (c *console) recordingFile(w http.ResponseWriter, r *http.Request) error {
	s, _, err := c.watchable(r)
	if err != nil {
		return err
	}
	if c.Recordings == nil {
		return errNoRecording
	}
	c.log.Info("recording played", "session", s.ID, "user", login(r).User.ID, "range", r.Header.Get("Range"))
	return c.Recordings.ServeFile(w, r, s.ID)
}

// recordingSettingsJSON is the desk's recording rules.
type recordingSettingsJSON struct {
	Mode          store.RecordingMode `json:"mode"`
	RetentionDays int                 `json:"retentionDays"`
}

func (c *console) getRecordingSettings(w http.ResponseWriter, r *http.Request) error {
	set, err := c.Store.RecordingSettings(r.Context())
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, recordingSettingsJSON{set.Mode, set.RetentionDays})
	return nil
}

func (c *console) putRecordingSettings(w http.ResponseWriter, r *http.Request) error {
	var in recordingSettingsJSON
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	if !in.Mode.Valid() {
		return httpx.FieldError("mode", "mode must be off, ask or ask_data")
	}
	if in.RetentionDays < 1 || in.RetentionDays > store.MaxRecordingRetentionDays {
		return httpx.FieldError("retentionDays", "retention must be 1 to %d days", store.MaxRecordingRetentionDays)
	}
	if err := c.Store.SetRecordingSettings(r.Context(), store.RecordingSettings{Mode: in.Mode, RetentionDays: in.RetentionDays}); err != nil {
		return err
	}
	return c.getRecordingSettings(w, r)
}
