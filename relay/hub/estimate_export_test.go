package hub

// LadderRooms is how many rooms hold estimate or keep state: a test shows
// with it that a room's state goes when its level drops or it ends.
func (h *Hub) LadderRooms() int {
	n := 0
	for _, r := range h.allRooms() {
		r.mu.Lock()
		if r.holdsEstimatesLocked() {
			n++
		}
		r.mu.Unlock()
	}
	return n
}
