package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/cluster"
	"github.com/meekijk/meekijk/relay/hub"
)

// Several relays on one PostgreSQL database (relay/cluster, docs/deploy.md):
// every relay accepts any agent and console, and the desk's background
// jobs (audit checkpoints, the mail queue, abandoned and orphaned
// sessions) run on one of them at a time, the leader.

// newCluster joins the desk's relays when the store is PostgreSQL; nil
// with SQLite, where the relay is alone.
func newCluster(ctx context.Context, cfg Config, st *store.Store, log *slog.Logger) (*cluster.Node, error) {
	if st.Dialect() != store.Postgres {
		return nil, nil
	}
	return cluster.New(ctx, cluster.Config{DSN: cfg.DB, Self: cfg.RelayID}, log)
}

// hubCluster is node as the hub's Cluster: a nil interface, not an
// interface holding a nil pointer, when the relay is alone.
func hubCluster(node *cluster.Node) hub.Cluster {
	if node == nil {
		return nil
	}
	return node
}

// leaderPoll is how often a relay not running the desk's jobs checks
// whether it now should, and a leader that it still is.
const leaderPoll = time.Second

// whileLeader runs job while this relay is the desk's leader, stopping it
// (its context ends) when the leadership is lost, until ctx ends. Alone
// (node nil), the relay is always the leader.
func whileLeader(node *cluster.Node, job func(context.Context)) func(context.Context) {
	if node == nil {
		return job
	}
	return func(ctx context.Context) {
		t := time.NewTicker(leaderPoll)
		defer t.Stop()
		for {
			if node.Leader() {
				jctx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() {
					defer close(done)
					job(jctx)
				}()
				for node.Leader() && ctx.Err() == nil {
					select {
					case <-ctx.Done():
					case <-t.C:
					}
				}
				cancel()
				<-done
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}

// leads reports whether this relay runs the desk's jobs: the leader, or
// a relay alone.
func (s *Server) leads() bool { return s.cluster == nil || s.cluster.Leader() }

// runCluster runs the node until ctx ends; a failure to start is logged
// (the relay then serves its own agents, as a lone relay would, but
// consoles elsewhere cannot reach them).
func (s *Server) runCluster(ctx context.Context) {
	if s.cluster == nil {
		return
	}
	// Operators (and the tests) tell the relays apart by this name: it is
	// the relay_id of the sessions' claims.
	fmt.Fprintf(s.cfg.Stdout, "Relay: %s\n", s.cluster.Self())
	if err := s.cluster.Run(ctx); err != nil {
		s.log.Error("cluster", "err", err)
	}
}

// closeCluster closes the cluster's connections on a failed New (Run
// closes them otherwise).
func (s *Server) closeCluster() {
	if s.cluster != nil {
		s.cluster.Close()
	}
}
