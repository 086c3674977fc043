package server

import (
	"context"
	"time"

	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/turnserver"
)

// revokingStore is the store as the hub sees it when TURN is on: every way
// a session comes to its end (ended by either side, declined, abandoned)
// also revokes the session's TURN credentials, so they die with the
// session instead of 12 hours later. Interrupted sessions keep theirs:
// they may resume.
type revokingStore struct {
	*store.Store
	turn *turnserver.Server
}

func (s revokingStore) End(ctx context.Context, id int64, by, actor, reason string) (bool, error) {
	ended, err := s.Store.End(ctx, id, by, actor, reason)
	if ended {
		s.turn.Revoke(id)
	}
	return ended, err
}

func (s revokingStore) EndAbandoned(ctx context.Context, cutoff time.Time, actor string) ([]int64, error) {
	ids, err := s.Store.EndAbandoned(ctx, cutoff, actor)
	for _, id := range ids {
		s.turn.Revoke(id)
	}
	return ids, err
}

func (s revokingStore) Transition(ctx context.Context, id int64, from []string, to, kind, actor string, detail any) error {
	err := s.Store.Transition(ctx, id, from, to, kind, actor, detail)
	if err == nil && (to == store.StatusEnded || to == store.StatusDeclined) {
		s.turn.Revoke(id)
	}
	return err
}
