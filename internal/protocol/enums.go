package protocol

import (
	"fmt"
	"slices"

	"github.com/meekijk/meekijk/internal/helpdesk"
)

// The closed sets of values Decode accepts for fields that name a kind, an
// outcome, a party or a reason. A value outside them is a broken or hostile
// peer: refusing it in the decoder means no handler can act on a word it
// does not know (consent levels are checked by their own type).
var (
	roles             = []string{RoleAgent, RoleConsole}
	keeps             = []string{"", KeepRenotice, KeepOverrun}
	overrunOutcomes   = []string{"", OverrunAsked, OverrunContinued, OverrunDeclined, OverrunTimeout}
	reconfirmOutcomes = []string{ReconfirmAsked, ReconfirmConfirmed, ReconfirmTimeout}
	fileDirections    = []string{FileToCustomer, FileFromCustomer}
	fileOutcomes      = []string{"offered", "accepted", "declined", "done", "cancelled"}
	parties           = []string{"", ByCustomer, ByTechnician, ByRelay}
	statuses          = []string{StatusWaiting, StatusJoined, StatusLive, StatusDeclined, StatusEnded, StatusInterrupted, StatusReconnecting}
	// levelReasons are LevelChange.Reason's values (see its comment).
	levelReasons = []string{"", "customer", "reconfirm_timeout", "handover", "granted", "overrun_declined",
		"overrun_timeout", "renotice_declined", "renotice_timeout", "cannot_price"}
	costReasons = []string{string(helpdesk.NoContract), string(helpdesk.ContractSuspended), string(helpdesk.NotReferencePerson),
		string(helpdesk.CategoryNotCovered), string(helpdesk.DataIntervention), string(helpdesk.OutsideHours)}
)

// checkEnums refuses a decoded message whose enumerated fields hold a value
// outside their set, naming the field.
func checkEnums(m Message) error {
	type field struct {
		name, value string
		allowed     []string
	}
	var fields []field
	switch m := m.(type) {
	case Hello:
		fields = []field{{"role", m.Role, roles}}
	case ConsentRequest:
		fields = []field{{"keep", m.Keep, keeps}}
		if m.Cost != nil {
			for i, r := range m.Cost.Reasons {
				fields = append(fields, field{fmt.Sprintf("cost.reasons[%d]", i), r, costReasons})
			}
		}
		if m.Overrun != nil {
			fields = append(fields, field{"overrun.outcome", m.Overrun.Outcome, overrunOutcomes})
		}
	case Overrun:
		fields = []field{{"outcome", m.Outcome, overrunOutcomes}}
	case Reconfirm:
		fields = []field{{"outcome", m.Outcome, reconfirmOutcomes}}
	case FileEvent:
		fields = []field{{"direction", m.Direction, fileDirections}, {"outcome", m.Outcome, fileOutcomes}}
	case End:
		fields = []field{{"by", m.By, parties}}
	case Status:
		fields = []field{{"status", m.Status, statuses}, {"by", m.By, parties}}
	case LevelChange:
		fields = []field{{"reason", m.Reason, levelReasons}}
	case Recording:
		fields = []field{{"state", m.State, recordingStates}}
	case ClipboardEvent:
		fields = []field{{"direction", m.Direction, clipboardDirections}}
	}
	for _, f := range fields {
		if !slices.Contains(f.allowed, f.value) {
			return fmt.Errorf("%s: unknown value %q", f.name, f.value)
		}
	}
	return nil
}
