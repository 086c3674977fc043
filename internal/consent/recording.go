package consent

import (
	"strconv"

	"github.com/meekijk/meekijk/internal/i18n"
)

// RecordingVersion names the current wording of the recording question.
// Change it whenever agent.recording.* changes in any language: the
// record of an answer names it, with the text itself and its hash.
const RecordingVersion = "2026-12"

// Recording words the question whether the session may be recorded, kept
// by the desk for retentionDays.
func Recording(cat i18n.Catalog, lang i18n.Lang, who Who, retentionDays int) Question {
	return Question{Lines: []string{
		cat.T(lang, "agent.recording.title", "technician", who.Technician, "company", who.Company),
		cat.T(lang, "agent.ask.ticket", "ref", who.TicketRef, "title", who.TicketTitle),
		cat.T(lang, "agent.recording.explain", "company", who.Company, "days", strconv.Itoa(retentionDays)),
		cat.T(lang, "agent.recording.refuse"),
	}}
}
