package helpdesk

import (
	"errors"
	"slices"
	"testing"
)

func TestEntitlement(t *testing.T) {
	covered := Facts{ContractStatus: "active", ReferencePerson: true, CategoryCovered: true}
	cases := []struct {
		name string
		edit func(*Facts)
		want []Reason
	}{
		{"everything in order", func(*Facts) {}, nil},
		{"no contract", func(f *Facts) { f.ContractStatus = "" }, []Reason{NoContract}},
		{"contract cancelled", func(f *Facts) { f.ContractStatus = "cancelled" }, []Reason{NoContract}},
		{"contract suspended", func(f *Facts) { f.ContractStatus = "suspended" }, []Reason{ContractSuspended}},
		{"not a reference person", func(f *Facts) { f.ReferencePerson = false }, []Reason{NotReferencePerson}},
		{"category not covered", func(f *Facts) { f.CategoryCovered = false }, []Reason{CategoryNotCovered}},
		{"data intervention", func(f *Facts) { f.DataIntervention = true }, []Reason{DataIntervention}},
		{"outside hours", func(f *Facts) { f.OutsideHours = true }, []Reason{OutsideHours}},
		{"suspended, uncovered, not reference", func(f *Facts) {
			f.ContractStatus, f.CategoryCovered, f.ReferencePerson = "suspended", false, false
		}, []Reason{ContractSuspended, NotReferencePerson, CategoryNotCovered}},
		{"no contract makes category moot", func(f *Facts) {
			f.ContractStatus, f.CategoryCovered = "", false
		}, []Reason{NoContract}},
		{"everything wrong", func(f *Facts) {
			*f = Facts{DataIntervention: true, OutsideHours: true}
		}, []Reason{NoContract, NotReferencePerson, DataIntervention, OutsideHours}},
	}
	for _, c := range cases {
		f := covered
		c.edit(&f)
		v := Entitlement(f)
		if v.Covered != (len(c.want) == 0) || !slices.Equal(v.Reasons, append([]Reason{}, c.want...)) {
			t.Errorf("%s: %+v, want reasons %v", c.name, v, c.want)
		}
	}
}

// Every combination of the five conditions: covered exactly when all hold,
// and each failing condition appears among the reasons.
func TestEntitlementAllCombinations(t *testing.T) {
	for mask := 0; mask < 64; mask++ {
		f := Facts{
			ContractStatus:   []string{"active", "suspended", "", "cancelled"}[mask&3],
			ReferencePerson:  mask&4 == 0,
			CategoryCovered:  mask&8 == 0,
			DataIntervention: mask&16 != 0,
			OutsideHours:     mask&32 != 0,
		}
		v := Entitlement(f)
		allHold := f.ContractStatus == "active" && f.ReferencePerson && f.CategoryCovered && !f.DataIntervention && !f.OutsideHours
		if v.Covered != allHold || v.Covered != (len(v.Reasons) == 0) {
			t.Fatalf("%+v -> %+v", f, v)
		}
		has := func(r Reason) bool { return slices.Contains(v.Reasons, r) }
		if !f.ReferencePerson != has(NotReferencePerson) || f.DataIntervention != has(DataIntervention) ||
			f.OutsideHours != has(OutsideHours) || (f.ContractStatus == "suspended") != has(ContractSuspended) {
			t.Fatalf("%+v -> reasons %v", f, v.Reasons)
		}
	}
}

func TestNormalizeVAT(t *testing.T) {
	good := map[string]string{
		"BE0403.170.701":  "BE0403170701",
		"be 0403 170 701": "BE0403170701",
		"BE403170701":     "BE0403170701",
		"NL123456789B01":  "NL123456789B01",
		"FR40303265045":   "FR40303265045",
	}
	for in, want := range good {
		if got, err := NormalizeVAT(in); err != nil || got != want {
			t.Errorf("NormalizeVAT(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "BE", "BE0403170702", "BE2403170701", "0403170701", "BE04031707011", "BE0403_170701", "B30403170701"} {
		if got, err := NormalizeVAT(bad); !errors.Is(err, ErrVAT) {
			t.Errorf("NormalizeVAT(%q) = %q, %v; want ErrVAT", bad, got, err)
		}
	}
}

func TestDefaultCategory(t *testing.T) {
	for kind, want := range map[string]string{"question": "user_question", "problem": "bug_report", "change_request": "change_request", "complaint": "user_question"} {
		if got := DefaultCategory(kind); got != want {
			t.Errorf("DefaultCategory(%s) = %s, want %s", kind, got, want)
		}
	}
}
