package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveMetrics serves the agent's counters for Prometheus on addr until the
// returned function is called; with an empty addr it does nothing.
func serveMetrics(addr string, read func() figures) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	reg := prometheus.NewRegistry()
	counter := func(name, help string, v func(figures) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cairn_agent_" + name, Help: help},
			func() float64 { return v(read()) }))
	}
	gauge := func(name, help string, v func(figures) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_agent_" + name, Help: help},
			func() float64 { return v(read()) }))
	}
	counter("events_sent_total", "Events sent, each counted once however often it was re-sent.",
		func(f figures) float64 { return float64(f.stats.Sent + f.rejectedLocally) })
	counter("events_resent_total", "Extra sends of events the cluster could not store at first, or after a broken stream.",
		func(f figures) float64 { return float64(f.stats.Resent) })
	counter("events_stored_total", "Events the cluster stored.",
		func(f figures) float64 { return float64(f.stats.Stored) })
	counter("events_duplicate_total", "Events the cluster already had.",
		func(f figures) float64 { return float64(f.stats.Duplicate) })
	counter("events_rejected_total", "Events rejected, by the cluster or by the agent.",
		func(f figures) float64 { return float64(f.stats.Rejected + f.rejectedLocally) })
	counter("events_failed_total", "Events the agent gave up on; they stay in the spool.",
		func(f figures) float64 { return float64(f.stats.Failed) })
	counter("files_read_total", "Source files read to their end.",
		func(f figures) float64 { return float64(f.files.FilesRead) })
	counter("files_skipped_total", "Source files skipped: digests and files that are not CloudTrail logs.",
		func(f figures) float64 { return float64(f.files.Skipped()) })
	counter("files_failed_total", "Source files that could not be read or parsed to their end.",
		func(f figures) float64 { return float64(f.files.FilesFailed) })
	gauge("backlog_events", "Events read but without a final outcome yet.",
		func(f figures) float64 { return float64(f.backlog()) })
	gauge("spool_bytes", "Size of the spool's segments on disk.",
		func(f figures) float64 { return float64(f.spoolBytes) })

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot serve metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener is ours; Serve only ends when it closes
		}
	}()
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}
