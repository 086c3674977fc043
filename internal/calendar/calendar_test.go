package calendar

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rickar/cal/v2/be"
)

func brussels(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		t.Fatalf("no time zone data: %v", err)
	}
	return loc
}

// local builds a Brussels wall-clock time and hands it over in UTC, so every
// test also checks that inputs in another zone are converted.
func local(t testing.TB, y int, m time.Month, d, h, mi, s int) time.Time {
	t.Helper()
	return time.Date(y, m, d, h, mi, s, 0, brussels(t)).UTC()
}

func utc(y int, m time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, m, d, h, mi, s, 0, time.UTC)
}

func TestIsOpenDefault(t *testing.T) {
	c := Default()
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		// Tuesday 2026-03-10, an ordinary day.
		{"midnight", local(t, 2026, 3, 10, 0, 0, 0), false},
		{"just before morning", local(t, 2026, 3, 10, 8, 59, 59), false},
		{"morning opens", local(t, 2026, 3, 10, 9, 0, 0), true},
		{"last second of morning", local(t, 2026, 3, 10, 11, 59, 59), true},
		{"lunch starts", local(t, 2026, 3, 10, 12, 0, 0), false},
		{"middle of lunch", local(t, 2026, 3, 10, 12, 45, 0), false},
		{"end of lunch", local(t, 2026, 3, 10, 13, 29, 59), false},
		{"afternoon opens", local(t, 2026, 3, 10, 13, 30, 0), true},
		{"last second of afternoon", local(t, 2026, 3, 10, 17, 59, 59), true},
		{"evening", local(t, 2026, 3, 10, 18, 0, 0), false},
		{"late evening", local(t, 2026, 3, 10, 23, 59, 59), false},
		{"Friday afternoon", local(t, 2026, 3, 13, 17, 0, 0), true},
		{"Saturday", local(t, 2026, 3, 14, 10, 0, 0), false},
		{"Sunday", local(t, 2026, 3, 15, 10, 0, 0), false},

		{"Easter Monday 2026", local(t, 2026, 4, 6, 10, 0, 0), false},
		{"day after Easter Monday 2026", local(t, 2026, 4, 7, 10, 0, 0), true},
		{"Easter Monday 2027", local(t, 2027, 3, 29, 10, 0, 0), false},
		{"Labour Day 2026", local(t, 2026, 5, 1, 10, 0, 0), false},
		{"Ascension 2026", local(t, 2026, 5, 14, 10, 0, 0), false},
		{"Friday after Ascension 2026", local(t, 2026, 5, 15, 10, 0, 0), true},
		{"Whit Monday 2026", local(t, 2026, 5, 25, 10, 0, 0), false},
		{"National Day 2026", local(t, 2026, 7, 21, 10, 0, 0), false},
		{"day before National Day", local(t, 2026, 7, 20, 10, 0, 0), true},
		{"Armistice 2026", local(t, 2026, 11, 11, 10, 0, 0), false},
		{"Armistice 2027", local(t, 2027, 11, 11, 10, 0, 0), false},

		{"before Christmas closure", local(t, 2026, 12, 23, 17, 59, 59), true},
		{"Christmas closure first day", local(t, 2026, 12, 24, 10, 0, 0), false},
		{"Christmas closure Monday", local(t, 2026, 12, 28, 10, 0, 0), false},
		{"New Year's Eve", local(t, 2026, 12, 31, 10, 0, 0), false},
		{"New Year's Day", local(t, 2027, 1, 1, 10, 0, 0), false},
		{"first Monday of 2027 before opening", local(t, 2027, 1, 4, 8, 59, 59), false},
		{"first Monday of 2027 opens", local(t, 2027, 1, 4, 9, 0, 0), true},

		// 2026-03-29 springs forward: 09:00 on Monday 30 is 07:00 UTC.
		{"after spring change 06:59:59Z", utc(2026, 3, 30, 6, 59, 59), false},
		{"after spring change 07:00Z", utc(2026, 3, 30, 7, 0, 0), true},
		{"after spring change 15:59:59Z", utc(2026, 3, 30, 15, 59, 59), true},
		{"after spring change 16:00Z", utc(2026, 3, 30, 16, 0, 0), false},
		{"before spring change 08:00Z", utc(2026, 3, 27, 8, 0, 0), true},
		{"before spring change 07:30Z", utc(2026, 3, 27, 7, 30, 0), false},
		// 2026-10-25 falls back: 09:00 on Monday 26 is 08:00 UTC.
		{"after autumn change 07:59:59Z", utc(2026, 10, 26, 7, 59, 59), false},
		{"after autumn change 08:00Z", utc(2026, 10, 26, 8, 0, 0), true},
		{"after autumn change 16:59:59Z", utc(2026, 10, 26, 16, 59, 59), true},
		{"after autumn change 17:00Z", utc(2026, 10, 26, 17, 0, 0), false},
		{"input in another zone", time.Date(2026, 3, 10, 4, 0, 0, 0, time.FixedZone("EST", -5*3600)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.IsOpen(tt.at); got != tt.want {
				t.Errorf("IsOpen(%s) = %v, want %v", tt.at.In(brussels(t)), got, tt.want)
			}
		})
	}
}

func TestNextOpeningDefault(t *testing.T) {
	c := Default()
	tests := []struct {
		name     string
		from     time.Time
		want     time.Time
		wantSame bool // open at from: the answer is from itself
	}{
		{"open now", local(t, 2026, 3, 10, 10, 15, 7), time.Time{}, true},
		{"open at the first second", local(t, 2026, 3, 10, 13, 30, 0), time.Time{}, true},
		{"early morning", local(t, 2026, 3, 10, 7, 0, 0), local(t, 2026, 3, 10, 9, 0, 0), false},
		{"lunch break", local(t, 2026, 3, 10, 12, 30, 0), local(t, 2026, 3, 10, 13, 30, 0), false},
		{"lunch starts", local(t, 2026, 3, 10, 12, 0, 0), local(t, 2026, 3, 10, 13, 30, 0), false},
		{"closing time", local(t, 2026, 3, 10, 18, 0, 0), local(t, 2026, 3, 11, 9, 0, 0), false},
		{"Friday evening", local(t, 2026, 3, 13, 18, 30, 0), local(t, 2026, 3, 16, 9, 0, 0), false},
		{"Saturday", local(t, 2026, 3, 14, 10, 0, 0), local(t, 2026, 3, 16, 9, 0, 0), false},
		{"Sunday night", local(t, 2026, 3, 15, 23, 59, 59), local(t, 2026, 3, 16, 9, 0, 0), false},
		{"across spring change", local(t, 2026, 3, 27, 18, 30, 0), utc(2026, 3, 30, 7, 0, 0), false},
		{"across autumn change", local(t, 2026, 10, 23, 18, 30, 0), utc(2026, 10, 26, 8, 0, 0), false},
		{"on the spring change Sunday", utc(2026, 3, 29, 1, 30, 0), utc(2026, 3, 30, 7, 0, 0), false},
		{"on the autumn change Sunday", utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 26, 8, 0, 0), false},
		{"Easter Monday", local(t, 2026, 4, 6, 10, 0, 0), local(t, 2026, 4, 7, 9, 0, 0), false},
		{"Easter weekend", local(t, 2027, 3, 27, 10, 0, 0), local(t, 2027, 3, 30, 9, 0, 0), false},
		{"Ascension", local(t, 2026, 5, 14, 10, 0, 0), local(t, 2026, 5, 15, 9, 0, 0), false},
		{"Whit weekend", local(t, 2026, 5, 22, 18, 0, 0), local(t, 2026, 5, 26, 9, 0, 0), false},
		{"National Day", local(t, 2026, 7, 21, 8, 0, 0), local(t, 2026, 7, 22, 9, 0, 0), false},
		{"Armistice", local(t, 2026, 11, 11, 12, 0, 0), local(t, 2026, 11, 12, 9, 0, 0), false},
		{"last evening before Christmas closure", local(t, 2026, 12, 23, 18, 0, 0), local(t, 2027, 1, 4, 9, 0, 0), false},
		{"inside Christmas closure", local(t, 2026, 12, 28, 10, 0, 0), local(t, 2027, 1, 4, 9, 0, 0), false},
		{"New Year's Day", local(t, 2027, 1, 1, 0, 0, 0), local(t, 2027, 1, 4, 9, 0, 0), false},
	}
	loc := brussels(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.NextOpening(tt.from)
			if !ok {
				t.Fatalf("NextOpening(%s) found nothing", tt.from.In(loc))
			}
			if tt.wantSame {
				if got != tt.from {
					t.Errorf("NextOpening(%s) = %s, want the same time back", tt.from, got)
				}
				return
			}
			if !got.Equal(tt.want) {
				t.Errorf("NextOpening(%s) = %s, want %s", tt.from.In(loc), got.In(loc), tt.want.In(loc))
			}
			if got.Location().String() != "Europe/Brussels" {
				t.Errorf("NextOpening gave a time in %s, want the desk's zone", got.Location())
			}
			if !c.IsOpen(got) || c.IsOpen(got.Add(-time.Second)) {
				t.Errorf("%s is not the start of an opening period", got.In(loc))
			}
		})
	}
}

func TestClosedDay(t *testing.T) {
	c := Default()
	tests := []struct {
		name       string
		at         time.Time
		reason, nm string
	}{
		{"ordinary open day", local(t, 2026, 3, 10, 10, 0, 0), "", ""},
		{"ordinary day after hours", local(t, 2026, 3, 10, 20, 0, 0), "", ""},
		{"weekend", local(t, 2026, 3, 14, 10, 0, 0), "", ""},
		{"Easter Monday 2026", local(t, 2026, 4, 6, 10, 0, 0), "holiday", "Easter Monday"},
		{"Easter Monday 2027", local(t, 2027, 3, 29, 10, 0, 0), "holiday", "Easter Monday"},
		{"Ascension", local(t, 2026, 5, 14, 10, 0, 0), "holiday", "Ascension Day"},
		{"Whit Monday", local(t, 2026, 5, 25, 10, 0, 0), "holiday", "Pentecost Monday"},
		{"National Day", local(t, 2026, 7, 21, 10, 0, 0), "holiday", "Belgian National Day"},
		{"Armistice", local(t, 2026, 11, 11, 10, 0, 0), "holiday", "Armistice Day"},
		{"Christmas closure", local(t, 2026, 12, 28, 10, 0, 0), "closure", ""}, // the default closure has no label of its own
		{"Christmas Day is a holiday first", local(t, 2026, 12, 25, 10, 0, 0), "holiday", "Christmas Day"},
		{"New Year's Day", local(t, 2027, 1, 1, 10, 0, 0), "holiday", "New Year's Day"},
		{"after Christmas closure", local(t, 2027, 1, 2, 10, 0, 0), "", ""},
		// 22:30 UTC on 5 April is already Easter Monday in Brussels.
		{"date taken in the desk's zone", utc(2026, 4, 5, 22, 30, 0), "holiday", "Easter Monday"},
		{"and the day after", utc(2026, 4, 6, 22, 30, 0), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, name := c.ClosedDay(tt.at)
			if reason != tt.reason || name != tt.nm {
				t.Errorf("ClosedDay(%s) = %q, %q; want %q, %q", tt.at, reason, name, tt.reason, tt.nm)
			}
		})
	}
}

// A newer rickar/cal adding a Belgian holiday would show its Dutch name:
// this points at the map to extend.
func TestEveryBelgianHolidayHasAnEnglishName(t *testing.T) {
	for _, h := range be.Holidays {
		if _, ok := englishNames[h]; !ok {
			t.Errorf("no English name for %q", h.Name)
		}
	}
}

func TestOneOffClosure(t *testing.T) {
	c := Default()
	c.Closures = append(c.Closures, Closure{From: "2026-06-11", To: "2026-06-12", Label: "Staff days"})
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.IsOpen(local(t, 2026, 6, 12, 10, 0, 0)) {
		t.Error("open during the one-off closure")
	}
	if reason, name := c.ClosedDay(local(t, 2026, 6, 11, 10, 0, 0)); reason != "closure" || name != "Staff days" {
		t.Errorf("ClosedDay = %q, %q", reason, name)
	}
	if !c.IsOpen(local(t, 2027, 6, 11, 10, 0, 0)) {
		t.Error("a one-off closure recurred the next year")
	}
	got, _ := c.NextOpening(local(t, 2026, 6, 10, 18, 0, 0))
	if want := local(t, 2026, 6, 15, 9, 0, 0); !got.Equal(want) {
		t.Errorf("NextOpening = %s, want %s", got, want)
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default() does not validate: %v", err)
	}
	mod := func(f func(c *Calendar)) Calendar {
		c := Default()
		c.Weekly = append([]Period(nil), c.Weekly...)
		c.Closures = append([]Closure(nil), c.Closures...)
		f(&c)
		return c
	}
	valid := []struct {
		name string
		cal  Calendar
	}{
		{"no periods", Calendar{TimeZone: "Europe/Brussels"}},
		{"touching periods", mod(func(c *Calendar) {
			c.Weekly = append(c.Weekly, Period{Weekday: time.Monday, From: 12 * 60, To: 13*60 + 30})
		})},
		{"until midnight", mod(func(c *Calendar) {
			c.Weekly = append(c.Weekly, Period{Weekday: time.Saturday, From: 0, To: 24 * 60})
		})},
		{"one-day one-off closure", mod(func(c *Calendar) { c.Closures = append(c.Closures, Closure{From: "2026-06-12", To: "2026-06-12"}) })},
		{"yearly 29 February", mod(func(c *Calendar) { c.Closures = append(c.Closures, Closure{From: "02-29", To: "02-29"}) })},
		{"one-off 29 February in a leap year", mod(func(c *Calendar) { c.Closures = append(c.Closures, Closure{From: "2028-02-29", To: "2028-03-01"}) })},
		{"other zone", mod(func(c *Calendar) { c.TimeZone = "America/New_York" })},
		{"no holidays", mod(func(c *Calendar) { c.Holidays = "" })},
	}
	for _, tt := range valid {
		if err := tt.cal.Validate(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}

	invalid := []struct {
		name  string
		cal   Calendar
		field string
		msg   string
	}{
		{"empty zone", mod(func(c *Calendar) { c.TimeZone = "" }),
			"timeZone", "timeZone: is required (an IANA name such as Europe/Brussels)"},
		{"server zone", mod(func(c *Calendar) { c.TimeZone = "Local" }),
			"timeZone", `timeZone: "Local" depends on the server; use an IANA name such as Europe/Brussels`},
		{"unknown zone", mod(func(c *Calendar) { c.TimeZone = "Europe/Atlantis" }),
			"timeZone", `timeZone: unknown time zone "Europe/Atlantis"`},
		{"weekday out of range", mod(func(c *Calendar) { c.Weekly[1].Weekday = 7 }),
			"weekly[1]", "weekly[1]: weekday 7 is not 0 (Sunday) to 6 (Saturday)"},
		{"negative from", mod(func(c *Calendar) { c.Weekly[0].From = -1 }),
			"weekly[0]", "weekly[0]: from Clock(-1) is outside 00:00..24:00"},
		{"to past midnight", mod(func(c *Calendar) { c.Weekly[3].To = 24*60 + 1 }),
			"weekly[3]", "weekly[3]: to Clock(1441) is outside 00:00..24:00"},
		{"from after to", mod(func(c *Calendar) { c.Weekly[2].From, c.Weekly[2].To = 13*60+30, 12*60 }),
			"weekly[2]", "weekly[2]: from 13:30 is not before to 12:00"},
		{"empty period", mod(func(c *Calendar) { c.Weekly[4].To = c.Weekly[4].From }),
			"weekly[4]", "weekly[4]: from 09:00 is not before to 09:00"},
		{"overlap", mod(func(c *Calendar) {
			c.Weekly = append(c.Weekly, Period{Weekday: time.Monday, From: 11 * 60, To: 14 * 60})
		}), "weekly[10]", "weekly[10]: Monday 11:00–14:00 overlaps weekly[0] (09:00–12:00)"},
		{"unknown holidays", mod(func(c *Calendar) { c.Holidays = "FR" }),
			"holidays", `holidays: "FR" is not a known set of public holidays (use "BE", or "" for none)`},
		{"holidays in lower case", mod(func(c *Calendar) { c.Holidays = "be" }),
			"holidays", `holidays: "be" is not a known set of public holidays (use "BE", or "" for none)`},
		{"bad month", mod(func(c *Calendar) { c.Closures = append(c.Closures, Closure{From: "2026-13-01", To: "2026-13-02"}) }),
			"closures[1]", `closures[1]: from "2026-13-01" is not a date YYYY-MM-DD or a yearly MM-DD`},
		{"day before month", mod(func(c *Calendar) { c.Closures[0].From = "24-12" }),
			"closures[0]", `closures[0]: from "24-12" is not a date YYYY-MM-DD or a yearly MM-DD`},
		{"slashes", mod(func(c *Calendar) { c.Closures[0].From = "12/24" }),
			"closures[0]", `closures[0]: from "12/24" is not a date YYYY-MM-DD or a yearly MM-DD`},
		{"no such day", mod(func(c *Calendar) { c.Closures[0].To = "04-31" }),
			"closures[0]", `closures[0]: to "04-31" is not a date YYYY-MM-DD or a yearly MM-DD`},
		{"29 February of a common year", mod(func(c *Calendar) { c.Closures = append(c.Closures, Closure{From: "2026-02-28", To: "2026-02-29"}) }),
			"closures[1]", `closures[1]: to "2026-02-29" is not a date YYYY-MM-DD or a yearly MM-DD`},
		{"signed digits", mod(func(c *Calendar) { c.Closures[0].To = "+1-01" }),
			"closures[0]", `closures[0]: to "+1-01" is not a date YYYY-MM-DD or a yearly MM-DD`},
		{"mixed forms", mod(func(c *Calendar) { c.Closures[0].To = "2027-01-01" }),
			"closures[0]", `closures[0]: from "12-24" and to "2027-01-01" mix a one-off date with a yearly MM-DD`},
		{"one-off backwards", mod(func(c *Calendar) { c.Closures = append(c.Closures, Closure{From: "2026-06-12", To: "2026-06-11"}) }),
			"closures[1]", "closures[1]: to 2026-06-11 is before from 2026-06-12"},
	}
	seen := map[string]string{}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cal.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("error %v does not name field %q", err, tt.field)
			}
			if err.Error() != tt.msg {
				t.Errorf("error\n got %s\nwant %s", err, tt.msg)
			}
			if other, dup := seen[err.Error()]; dup {
				t.Errorf("same message as case %q", other)
			}
			seen[err.Error()] = tt.name
			// Fail closed: an invalid calendar is never open.
			if tt.cal.IsOpen(local(t, 2026, 3, 10, 10, 0, 0)) {
				t.Error("invalid calendar reported open")
			}
			if _, ok := tt.cal.NextOpening(local(t, 2026, 3, 10, 10, 0, 0)); ok {
				t.Error("invalid calendar has a next opening")
			}
		})
	}
}

func TestJSON(t *testing.T) {
	b, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		`"timeZone":"Europe/Brussels"`,
		`{"weekday":1,"from":"09:00","to":"12:00"}`,
		`{"weekday":5,"from":"13:30","to":"18:00"}`,
		`"holidays":"BE"`,
		`"closures":[{"from":"12-24","to":"01-01"}]`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON %s lacks %s", s, want)
		}
	}
	var back Calendar
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, Default()) {
		t.Errorf("round trip changed the calendar:\n got %+v\nwant %+v", back, Default())
	}
}

func TestClockJSON(t *testing.T) {
	good := map[string]Clock{`"00:00"`: 0, `"09:05"`: 545, `"23:59"`: 1439, `"24:00"`: 1440}
	for in, want := range good {
		var c Clock
		if err := json.Unmarshal([]byte(in), &c); err != nil || c != want {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d", in, c, err, want)
		}
		if out, err := json.Marshal(want); err != nil || string(out) != in {
			t.Errorf("Marshal(%d) = %s, %v; want %s", want, out, err, in)
		}
	}
	for _, in := range []string{`"9:00"`, `"09:00:00"`, `"24:01"`, `"25:00"`, `"12:60"`, `"ab:cd"`, `"-1:00"`, `""`, `540`} {
		var c Clock
		if err := json.Unmarshal([]byte(in), &c); err == nil {
			t.Errorf("Unmarshal(%s) accepted as %d", in, c)
		}
	}
	for _, c := range []Clock{-1, 1441} {
		if out, err := json.Marshal(c); err == nil {
			t.Errorf("Marshal(%d) = %s, want an error", c, out)
		}
	}
}

func TestNoPeriodsNeverOpens(t *testing.T) {
	c := Calendar{TimeZone: "Europe/Brussels", Holidays: "BE"}
	at := local(t, 2026, 3, 10, 10, 0, 0)
	if c.IsOpen(at) {
		t.Error("open without periods")
	}
	if got, ok := c.NextOpening(at); ok || !got.IsZero() {
		t.Errorf("NextOpening = %s, %v; want zero, false", got, ok)
	}
}

func TestClosedAllYearGivesUp(t *testing.T) {
	c := Default()
	c.Closures = []Closure{{From: "01-01", To: "12-31", Label: "gone fishing"}}
	start := time.Now()
	if got, ok := c.NextOpening(local(t, 2026, 3, 10, 10, 0, 0)); ok {
		t.Errorf("NextOpening = %s, want none", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("giving up took %s", d)
	}
}

func alwaysOpen() Calendar {
	c := Calendar{TimeZone: "Europe/Brussels"}
	for d := time.Sunday; d <= time.Saturday; d++ {
		c.Weekly = append(c.Weekly, Period{Weekday: d, From: 0, To: 24 * 60})
	}
	return c
}

func TestAlwaysOpen(t *testing.T) {
	c := alwaysOpen()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	for d := 20; d <= 31; d++ { // around the spring change, every weekday
		times = append(times, local(t, 2026, 3, d, 0, 0, 0), local(t, 2026, 3, d, 23, 59, 59))
	}
	times = append(times,
		utc(2026, 3, 29, 0, 59, 59), utc(2026, 3, 29, 1, 0, 0), // 01:59:59 CET, 03:00 CEST
		utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 25, 1, 30, 0), // 02:30 CEST and 02:30 CET
		utc(2026, 10, 25, 0, 59, 59), utc(2026, 10, 25, 1, 0, 0),
		local(t, 2026, 12, 25, 12, 0, 0), local(t, 2027, 1, 1, 0, 0, 0), // holidays do not apply
		local(t, 2026, 12, 31, 23, 59, 59),
	)
	for _, at := range times {
		if !c.IsOpen(at) {
			t.Errorf("closed at %s", at.In(brussels(t)))
		}
		if got, ok := c.NextOpening(at); !ok || got != at {
			t.Errorf("NextOpening(%s) = %s, %v; want the same time", at, got, ok)
		}
	}
}

// nightDesk opens in the small hours of Sunday, exactly where daylight-saving
// changes happen, to pin down how wall-clock periods meet them.
func nightDesk(periods ...Period) Calendar {
	return Calendar{TimeZone: "Europe/Brussels", Weekly: periods}
}

func TestNightPeriodsAcrossDST(t *testing.T) {
	sun := time.Sunday
	tests := []struct {
		name string
		cal  Calendar
		from time.Time
		want time.Time
	}{
		// 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
		{"period lost in the spring gap", nightDesk(Period{sun, 120, 150}, Period{sun, 180, 210}),
			utc(2026, 3, 28, 23, 30, 0), utc(2026, 3, 29, 1, 0, 0)},
		{"spring jump lands inside a period", nightDesk(Period{sun, 135, 195}),
			utc(2026, 3, 28, 23, 30, 0), utc(2026, 3, 29, 1, 0, 0)},
		{"period wholly in the gap waits a week", nightDesk(Period{sun, 120, 150}),
			utc(2026, 3, 28, 23, 30, 0), utc(2026, 4, 5, 0, 0, 0)},
		// 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:xx happens twice.
		{"first 02:00", nightDesk(Period{sun, 120, 150}),
			utc(2026, 10, 24, 23, 0, 0), utc(2026, 10, 25, 0, 0, 0)},
		{"the repeated hour opens again", nightDesk(Period{sun, 120, 150}),
			utc(2026, 10, 25, 0, 45, 0), utc(2026, 10, 25, 1, 0, 0)},
		{"after the repeated period, next week", nightDesk(Period{sun, 120, 150}),
			utc(2026, 10, 25, 1, 30, 0), utc(2026, 11, 1, 1, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cal.Validate(); err != nil {
				t.Fatal(err)
			}
			got, ok := tt.cal.NextOpening(tt.from)
			if !ok || !got.Equal(tt.want) {
				t.Errorf("NextOpening(%s) = %s, %v; want %s", tt.from, got.UTC(), ok, tt.want)
			}
		})
	}
}

// checkNext verifies NextOpening(from) against IsOpen: the answer is not
// before from, the desk is open then, and it is closed at every whole minute
// in between. Periods are whole wall-clock minutes and Brussels changes
// offset by whole hours, so openness only changes on whole UTC minutes and
// this check is exhaustive, for gaps up to maxGap.
func checkNext(t *testing.T, k *compiled, from time.Time, maxGap time.Duration) {
	t.Helper()
	next, ok := k.nextOpening(from)
	if !ok {
		t.Fatalf("no next opening from %s", from)
	}
	if next.Before(from) {
		t.Fatalf("NextOpening(%s) = %s is earlier", from, next)
	}
	if !k.openAt(next.In(k.loc)) {
		t.Fatalf("NextOpening(%s) = %s is not open", from, next)
	}
	if next.Sub(from) > maxGap {
		return
	}
	for m := from.Truncate(time.Minute).Add(time.Minute); m.Before(next); m = m.Add(time.Minute) {
		if k.openAt(m.In(k.loc)) {
			t.Fatalf("NextOpening(%s) = %s, but already open at %s", from, next, m)
		}
	}
}

func TestNextOpeningProperty(t *testing.T) {
	sun, sat := time.Sunday, time.Saturday
	calendars := map[string]Calendar{
		"default": Default(),
		// On change Sundays, 02:15–02:45 is lost (spring) or happens twice
		// (autumn), and the spring jump lands inside 02:50–03:10.
		"nights": nightDesk(Period{sat, 1380, 1440}, Period{sun, 30, 60}, Period{sun, 135, 165}, Period{sun, 170, 190},
			Period{time.Wednesday, 0, 1}, Period{time.Wednesday, 1439, 1440}),
	}
	rng := rand.New(rand.NewPCG(2026, 3))
	lo := utc(2026, 1, 1, 0, 0, 0).UnixNano()
	hi := utc(2028, 1, 1, 0, 0, 0).UnixNano()
	for name, c := range calendars {
		k, err := c.compile()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Run(name, func(t *testing.T) {
			for range 150 {
				checkNext(t, k, time.Unix(0, lo+rng.Int64N(hi-lo)), 4*24*time.Hour)
			}
			// And right around each daylight-saving change.
			for _, change := range []time.Time{utc(2026, 3, 29, 1, 0, 0), utc(2026, 10, 25, 1, 0, 0)} {
				for d := -3 * time.Hour; d <= 3*time.Hour; d += 7 * time.Minute {
					checkNext(t, k, change.Add(d), 8*24*time.Hour)
				}
			}
		})
	}
}

func FuzzNextOpening(f *testing.F) {
	for _, s := range []int64{
		utc(2026, 3, 27, 17, 30, 0).Unix(),
		utc(2026, 10, 25, 0, 59, 59).Unix(),
		utc(2026, 12, 23, 17, 0, 0).Unix(),
		utc(2027, 3, 28, 12, 0, 0).Unix(),
	} {
		f.Add(s)
	}
	k, err := Default().compile()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sec int64) {
		// Keep to years where tz rules and holidays are meaningful.
		const lo, hi = 946684800, 4102444800 // 2000..2100
		if sec < lo || sec >= hi {
			sec = lo + (sec%(hi-lo)+(hi-lo))%(hi-lo)
		}
		checkNext(t, k, time.Unix(sec, 0), 2*24*time.Hour)
	})
}

func BenchmarkNextOpeningChristmas(b *testing.B) {
	c := Default()
	from := utc(2026, 12, 23, 17, 30, 0)
	for b.Loop() {
		c.NextOpening(from)
	}
}
