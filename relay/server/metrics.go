package server

import (
	"context"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meekijk/meekijk/relay/hub"
)

// The relay's figures in Prometheus's text format (docs/deploy.md,
// "Monitoring"). They are read at each scrape from the hub and the store,
// so nothing is counted twice and nothing can drift; the registry is the
// relay's own, not client_golang's global one.
//
// /metrics is served on its own listener (-metrics-addr), not beside the
// console: session counts and refusal rates are the desk's business, and
// a scraper on the host or the monitoring network reaches it without a
// login while the public address never offers it.

var (
	descConnections = prometheus.NewDesc("meekijk_websockets_open", "WebSocket connections open (agents and consoles, in a session or not yet).", nil, nil)
	descRooms       = prometheus.NewDesc("meekijk_rooms", "Sessions the hub holds a room for.", nil, nil)
	descAgents      = prometheus.NewDesc("meekijk_agents_connected", "Agents attached to a session.", nil, nil)
	descConsoles    = prometheus.NewDesc("meekijk_consoles_connected", "Technicians' consoles attached to a session.", nil, nil)
	descJoined      = prometheus.NewDesc("meekijk_session_setups_total", "Agents that joined a session with its code since the relay started.", nil, nil)
	descRefused     = prometheus.NewDesc("meekijk_refused_total", "Agent connections and codes refused since the relay started, by reason.", []string{"reason"}, nil)
	descSessions    = prometheus.NewDesc("meekijk_sessions", "Sessions in the store, by status.", []string{"status"}, nil)
	descFDs         = prometheus.NewDesc("meekijk_descriptors_open", "File descriptors the relay has open.", nil, nil)
	descFDLimit     = prometheus.NewDesc("meekijk_descriptors_limit", "The relay's descriptor limit (soft RLIMIT_NOFILE).", nil, nil)
	descDraining    = prometheus.NewDesc("meekijk_draining", "1 while the relay drains before stopping.", nil, nil)
	descHandedOver  = prometheus.NewDesc("meekijk_sessions_handed_over_total", "Sessions this relay left to the desk's other relays as it stopped.", nil, nil)
	descTakenOver   = prometheus.NewDesc("meekijk_sessions_taken_over_total", "Sessions this relay adopted from another relay of the desk (crashed or stopped).", nil, nil)
	descLeader      = prometheus.NewDesc("meekijk_cluster_leader", "1 while this relay runs the desk's background jobs; only with several relays.", nil, nil)
)

// relayCollector reads the hub and the store at each scrape.
type relayCollector struct {
	hub     *hub.Hub
	counts  func(context.Context) (map[string]int, error)
	latency prometheus.Histogram // of the store query made at each scrape
	// leader reports whether this relay leads the desk; nil when alone.
	leader func() bool
}

func (c *relayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnections, descRooms, descAgents, descConsoles, descJoined, descRefused,
		descSessions, descFDs, descFDLimit, descDraining, descHandedOver, descTakenOver, descLeader} {
		ch <- d
	}
}

func (c *relayCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.hub.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descConnections, float64(st.Connections))
	gauge(descRooms, float64(st.Rooms))
	gauge(descAgents, float64(st.Agents))
	gauge(descConsoles, float64(st.Consoles))
	ch <- prometheus.MustNewConstMetric(descJoined, prometheus.CounterValue, float64(st.Joined))
	ch <- prometheus.MustNewConstMetric(descHandedOver, prometheus.CounterValue, float64(st.HandedOver))
	ch <- prometheus.MustNewConstMetric(descTakenOver, prometheus.CounterValue, float64(st.TakenOver))
	if c.leader != nil {
		gauge(descLeader, flag(c.leader()))
	}
	for reason, n := range st.Refused {
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(n), reason)
	}
	gauge(descDraining, flag(c.hub.Draining()))
	if n, err := openDescriptors(); err == nil {
		gauge(descFDs, float64(n))
	} else {
		ch <- prometheus.NewInvalidMetric(descFDs, err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		gauge(descFDLimit, float64(lim.Cur))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	counts, err := c.counts(ctx)
	c.latency.Observe(time.Since(began).Seconds())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descSessions, err)
		return
	}
	for status, n := range counts {
		gauge(descSessions, float64(n), status)
	}
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// openDescriptors counts the entries of /proc/self/fd (Linux).
func openDescriptors() (int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	return len(entries) - 1, nil // the directory read itself holds one
}

// metricsHandler serves the relay's registry: its own figures, the store
// query's latency, and the Go runtime's and the process's.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "meekijk_store_query_seconds",
		Help:    "Time the store took to count the sessions at each scrape.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8), // 0.5 ms to 8 s
	})
	rc := &relayCollector{hub: s.hub, counts: s.store.SessionCounts, latency: latency}
	if s.cluster != nil {
		rc.leader = s.cluster.Leader
	}
	reg.MustRegister(latency, rc,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}})
}

// slogPrinter hands promhttp's errors to the relay's log.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Warn("metrics", "err", v) }

// readyz answers 200 while the relay takes new agents and its store
// answers, 503 while it drains or the store does not: a load balancer's
// health check sends new connections elsewhere.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.hub.Draining() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		http.Error(w, "store not answering", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
