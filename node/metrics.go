package node

import (
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// metrics are one node's Prometheus metrics, in a registry of its own so that
// several nodes can live in one process (tests).
type metrics struct {
	reg          *prometheus.Registry
	ingested     *prometheus.CounterVec
	applyLatency prometheus.Histogram
	// logAppend times the Raft log's appends, fsync included, per group.
	logAppend *prometheus.HistogramVec
	// queries times lookups and SQL queries on the node that coordinates
	// them, by kind and outcome.
	queries *prometheus.HistogramVec
	// cutEvents counts the events retention cuts deleted on this replica.
	cutEvents prometheus.Counter
	// entries and entryBytes count the ingest entries this node committed
	// as a shard leader, and their size in the Raft log, by compression.
	entries, entryBytes *prometheus.CounterVec
	// entryEvents counts the events of those entries, by how they carry
	// their record.
	entryEvents *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_ingest_events_total",
			Help: "Events answered on the ingest stream, by result.",
		}, []string{"status"}),
		applyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cairn_shard_commit_seconds",
			Help:    "Time from proposing a shard entry to its being applied on the leader.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
	}
	m.logAppend = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cairn_raft_log_append_seconds",
		Help:    "Time to append entries to a Raft group's log, fsync included.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"group"})
	m.queries = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cairn_query_seconds",
		Help:    "Time to answer a lookup or a SQL query on the coordinating node, by kind (lookup, sql) and outcome (ok, error).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18),
	}, []string{"kind", "outcome"})
	m.cutEvents = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cairn_retention_deleted_events_total",
		Help: "Events deleted from this node's replicas by retention cuts.",
	})
	m.entries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cairn_shard_entries_total",
		Help: "Ingest entries committed by this node as a shard leader, by payload compression (none, minlz).",
	}, []string{"compression"})
	m.entryBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cairn_shard_entry_bytes_total",
		Help: "Bytes of the ingest entries committed by this node as a shard leader, as the Raft log holds them, by payload compression.",
	}, []string{"compression"})
	m.entryEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cairn_shard_entry_events_total",
		Help: "Events in the ingest entries committed by this node as a shard leader, by how they carry their record: raw, or value (without the fields the key holds).",
	}, []string{"record"})
	m.reg.MustRegister(m.ingested, m.applyLatency, m.logAppend, m.queries, m.cutEvents, m.entries, m.entryBytes, m.entryEvents,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) countResults(rs []*cairnv1.EventResult) {
	var counts [5]int
	for _, r := range rs {
		if int(r.Status) < len(counts) {
			counts[r.Status]++
		}
	}
	for st, c := range counts {
		if c > 0 {
			m.ingested.WithLabelValues(statusLabel(cairnv1.EventStatus(st))).Add(float64(c))
		}
	}
}

func statusLabel(s cairnv1.EventStatus) string {
	switch s {
	case cairnv1.EventStatus_EVENT_STATUS_STORED:
		return "stored"
	case cairnv1.EventStatus_EVENT_STATUS_DUPLICATE:
		return "duplicate"
	case cairnv1.EventStatus_EVENT_STATUS_REJECTED:
		return "rejected"
	case cairnv1.EventStatus_EVENT_STATUS_FAILED:
		return "failed"
	default:
		return "unspecified"
	}
}

// groupCollector reports Raft and Pebble state of every group on the node at
// scrape time.
type groupCollector struct{ n *Node }

var (
	descRaftState   = prometheus.NewDesc("cairn_raft_leader", "1 when this node leads the group.", []string{"group"}, nil)
	descRaftTerm    = prometheus.NewDesc("cairn_raft_term", "Current Raft term.", []string{"group"}, nil)
	descRaftCommit  = prometheus.NewDesc("cairn_raft_commit_index", "Raft commit index.", []string{"group"}, nil)
	descRaftApplied = prometheus.NewDesc("cairn_raft_applied_index", "Raft applied index.", []string{"group"}, nil)
	descLastContact = prometheus.NewDesc("cairn_raft_last_contact_seconds", "Seconds since the leader was last heard from (followers).", []string{"group"}, nil)
	descEvents      = prometheus.NewDesc("cairn_shard_events", "Events stored in the local replica.", []string{"shard"}, nil)
	descL0Files     = prometheus.NewDesc("cairn_pebble_l0_files", "Pebble L0 files.", []string{"shard"}, nil)
	descL0Sub       = prometheus.NewDesc("cairn_pebble_l0_sublevels", "Pebble L0 sublevels.", []string{"shard"}, nil)
	descCompDebt    = prometheus.NewDesc("cairn_pebble_compaction_debt_bytes", "Pebble estimated compaction debt.", []string{"shard"}, nil)
	descStalls      = prometheus.NewDesc("cairn_pebble_write_stalls_total", "Pebble write stalls.", []string{"shard"}, nil)
	descDiskBytes   = prometheus.NewDesc("cairn_pebble_disk_bytes", "Bytes of the replica's Pebble files.", []string{"shard"}, nil)
)

func (c groupCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRaftState, descRaftTerm, descRaftCommit, descRaftApplied, descLastContact, descEvents, descL0Files, descL0Sub, descCompDebt, descStalls, descDiskBytes} {
		ch <- d
	}
}

func (c groupCollector) Collect(ch chan<- prometheus.Metric) {
	raftMetrics := func(name string, r *raft.Raft) {
		leader := 0.0
		if r.State() == raft.Leader {
			leader = 1
		}
		ch <- prometheus.MustNewConstMetric(descRaftState, prometheus.GaugeValue, leader, name)
		ch <- prometheus.MustNewConstMetric(descRaftTerm, prometheus.GaugeValue, float64(r.CurrentTerm()), name)
		ch <- prometheus.MustNewConstMetric(descRaftCommit, prometheus.GaugeValue, float64(r.CommitIndex()), name)
		ch <- prometheus.MustNewConstMetric(descRaftApplied, prometheus.GaugeValue, float64(r.AppliedIndex()), name)
		if lc := r.LastContact(); !lc.IsZero() && leader == 0 {
			ch <- prometheus.MustNewConstMetric(descLastContact, prometheus.GaugeValue, time.Since(lc).Seconds(), name)
		}
	}
	if c.n.meta != nil {
		raftMetrics("meta", c.n.meta.raft)
	}
	shards := c.n.localShards()
	for _, s := range shards {
		id := strconv.Itoa(int(s.id))
		raftMetrics("shard-"+id, s.group.raft)
		db, release := s.fsm.DB()
		m := db.Metrics()
		stalls, _ := db.WriteStalls()
		ch <- prometheus.MustNewConstMetric(descEvents, prometheus.GaugeValue, float64(db.EventCount()), id)
		if du, err := db.DiskUsage(); err == nil {
			ch <- prometheus.MustNewConstMetric(descDiskBytes, prometheus.GaugeValue, float64(du), id)
		}
		release()
		ch <- prometheus.MustNewConstMetric(descL0Files, prometheus.GaugeValue, float64(m.Levels[0].TablesCount), id)
		ch <- prometheus.MustNewConstMetric(descL0Sub, prometheus.GaugeValue, float64(m.Levels[0].Sublevels), id)
		ch <- prometheus.MustNewConstMetric(descCompDebt, prometheus.GaugeValue, float64(m.Compact.EstimatedDebt), id)
		ch <- prometheus.MustNewConstMetric(descStalls, prometheus.CounterValue, float64(stalls), id)
	}
}

// observeQuery records the latency of a lookup or query begun at start.
func (m *metrics) observeQuery(kind string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.queries.WithLabelValues(kind, outcome).Observe(time.Since(start).Seconds())
}

// timedLog is a Raft log that times its appends. Embedding keeps every other
// method of the WAL, IsMonotonic included, which raft relies on.
type timedLog struct {
	*wal.WAL
	append prometheus.Observer
}

func (l timedLog) StoreLog(log *raft.Log) error { return l.StoreLogs([]*raft.Log{log}) }

func (l timedLog) StoreLogs(logs []*raft.Log) error {
	start := time.Now()
	err := l.WAL.StoreLogs(logs)
	l.append.Observe(time.Since(start).Seconds())
	return err
}
