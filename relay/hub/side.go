package hub

import "github.com/meekijk/meekijk/internal/protocol"

// side is one end of a room as the hub reaches it: a WebSocket on this
// relay (*wsconn.Conn), or a console attached to another relay of the same
// desk (remoteConsole, cluster.go). Like wsconn's, its Send and Finish only
// queue: they may be called with no lock held and never wait on the peer.
type side interface {
	// Send queues m for the peer.
	Send(m protocol.Message) error
	// Finish queues m as the last message, then closes.
	Finish(m protocol.Message)
	// Close ends the connection at once.
	Close()
}
