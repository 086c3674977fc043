package billing

// LevelMinutes is the time worked at one consent level, in whole minutes
// rounded up, as a customer's page shows it.
type LevelMinutes struct {
	Level   Level
	Minutes int64
}

// WorkedByLevel sums segments per level (in the order of Levels, levels
// without time left out) and the total shown above those parts. Each part
// is rounded up once and the total is their sum, so a page never says
// "2 min" above "viewing 1 min, control 2 min".
func WorkedByLevel(segs []Segment) (parts []LevelMinutes, total int64) {
	seconds := map[Level]int64{}
	for _, s := range segs {
		seconds[s.Level] += s.Seconds()
	}
	for _, l := range Levels {
		if secs, ok := seconds[l]; ok {
			m := ceilDiv(secs, 60)
			parts = append(parts, LevelMinutes{Level: l, Minutes: m})
			total += m
		}
	}
	return parts, total
}
