package console_test

import (
	"testing"

	"github.com/meekijk/meekijk/internal/store"
)

func TestRecordingSettingsRefuseBadInput(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAs(store.RoleAdmin, "boss@example.com")
	tech := e.login()
	put := func(c client, body map[string]any) answer {
		return e.do(c, "PUT", "/api/v1/settings/recording", jsonBody(body))
	}
	expect(t, "defaults", e.do(admin, "GET", "/api/v1/settings/recording", ""), 200, "")
	expect(t, "unknown mode", put(admin, map[string]any{"mode": "always", "retentionDays": 30}), 400, "invalid")
	expect(t, "no retention", put(admin, map[string]any{"mode": "ask", "retentionDays": 0}), 400, "invalid")
	expect(t, "retention too long", put(admin, map[string]any{"mode": "ask", "retentionDays": 3651}), 400, "invalid")
	expect(t, "unknown field", put(admin, map[string]any{"mode": "ask", "retentionDays": 30, "extra": 1}), 400, "invalid")
	expect(t, "a technician", put(tech, map[string]any{"mode": "ask", "retentionDays": 30}), 403, "forbidden")
	expect(t, "saved", put(admin, map[string]any{"mode": "ask_data", "retentionDays": 7}), 200, "")
	set, err := e.st.RecordingSettings(t.Context())
	if err != nil || set != (store.RecordingSettings{Mode: store.RecordingAskData, RetentionDays: 7}) {
		t.Fatalf("stored %+v, %v", set, err)
	}
	// A session without a recording: nothing to see, for anyone.
	expect(t, "no recording", e.do(admin, "GET", "/api/v1/sessions/1/recording", ""), 404, "not_found")
}
