package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/deliver"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/source"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/spool"
)

// drainTimeout is how long the agent waits, after an interrupt, for the
// batches it sent to be acknowledged.
var drainTimeout = 15 * time.Second

// syncEvery is how often the spool is made durable against a machine crash.
const syncEvery = time.Second

// agent sends everything the chosen source holds and returns the exit code.
func agent(ctx context.Context, opts options, stdout, stderr io.Writer) int {
	con := newConsole(stderr, opts.quiet)

	// 1. Signals: the first stops reading and lets what was sent be
	// acknowledged; a second one, or drainTimeout, stops at once.
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	var interrupted atomic.Bool
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
		case <-sendCtx.Done():
			return
		}
		interrupted.Store(true)
		con.notef("stopping: waiting up to %s for the cluster to acknowledge what was sent (interrupt again to stop now)", drainTimeout)
		stopReading()
		select {
		case <-sigs:
		case <-time.After(drainTimeout):
		case <-sendCtx.Done():
		}
		stopSending()
	}()

	// 2. Open the spool, and with it what an earlier run left unfinished.
	var sp *spool.Spool
	rec := &spool.Recovered{Done: map[string]bool{}}
	if opts.spool != "" {
		var err error
		sp, rec, err = spool.Open(opts.spool, spool.Options{})
		if err != nil {
			con.errorf("%v", err)
			return exitFailure
		}
		defer func() {
			if err := sp.Close(); err != nil {
				con.errorf("%v", err)
			}
		}()
	}
	desc, err := describeSource(&opts, rec.Source)
	if err != nil {
		con.errorf("%v", err)
		return exitUsage
	}
	if sp != nil {
		if err := sp.SetSource(desc); err != nil {
			con.errorf("%v", err)
			return exitFailure
		}
		if n := len(rec.Unacked); n > 0 {
			con.notef("resuming from spool %s: re-sending %d unacknowledged batches", opts.spool, n)
		}
	} else if opts.dir != "" {
		con.notef("no --spool: after a restart every file is read and sent again (the cluster drops the duplicates)")
	}

	// 3. Open the source where the spool says it stood.
	src, err := openSource(readCtx, opts, rec, con)
	if err != nil {
		con.errorf("%v", err)
		return exitFailure
	}
	defer src.close()

	// 4. Rejected events go to the console and --rejects.
	rejects, err := newRejectLog(con, opts.rejects, 20)
	if err != nil {
		con.errorf("%v", err)
		return exitFailure
	}
	defer rejects.close()

	// 5. Read, batch, spool and deliver.
	var taken atomic.Int64
	for _, b := range rec.Unacked {
		taken.Add(int64(len(b.Events)))
	}
	var ackErr error
	var ackOnce sync.Once
	sender := deliver.New(deliver.Config{
		Servers:     opts.serverList(),
		Token:       opts.token,
		Window:      opts.window,
		GiveUpAfter: giveUpAfter,
		OnRejected:  rejects.add,
		OnDone: func(b *deliver.Batch, res deliver.Result) {
			// A batch with failed events stays in the spool: the next run
			// sends it again.
			if sp == nil || res.Failed > 0 {
				return
			}
			if err := sp.Ack(b.ID); err != nil {
				ackOnce.Do(func() { ackErr = err; stopSending() })
			}
		},
		Warn: func(msg string) { con.errorf("%s", msg) },
	})
	items := make(chan item, 1024)
	batches := make(chan *deliver.Batch)
	readDone := make(chan error, 1)
	go func() { readDone <- readSource(readCtx, src.reader, items) }()
	b := &batcher{
		size: opts.batch, maxBytes: maxBatchBytes, linger: opts.linger, spool: sp,
		onTooLarge: rejects.tooLarge,
		onSpooled:  func(n int) { taken.Add(int64(n)) },
	}
	batchDone := make(chan error, 1)
	go func() { batchDone <- b.run(sendCtx, rec.Unacked, items, batches) }()

	stopSync := func() {}
	if sp != nil {
		stopSync = every(syncEvery, func() {
			if err := sp.Sync(); err != nil {
				con.errorf("%v", err)
			}
		})
	}
	snapshot := func() figures {
		f := figures{stats: sender.Stats(), taken: taken.Load(), rejectedLocally: rejects.local()}
		f.files = src.files()
		if sp != nil {
			st := sp.Stats()
			f.spoolBytes = st.Bytes
		}
		return f
	}
	stopMetrics, err := serveMetrics(opts.metricsAddr, snapshot)
	if err != nil {
		con.errorf("%v", err)
		return exitFailure
	}
	defer stopMetrics()
	start := time.Now()
	stopProgress := con.startProgress(snapshot)
	sendErr := sender.Run(sendCtx, batches)
	stopSending()
	batchErr := <-batchDone
	stopReading()
	readErr := <-readDone
	stopProgress()
	stopSync()

	// 6. Report.
	rejects.flush()
	f := snapshot()
	fmt.Fprintln(stdout, summary(f, time.Since(start)))
	stats := f.stats
	switch {
	case errors.Is(sendErr, deliver.ErrUnreachable):
		con.errorf("%v; is cairnd running? set --server or CAIRN_SERVER", sendErr)
	case ackErr != nil:
		con.errorf("%v", ackErr)
	case sendErr != nil && !errors.Is(sendErr, context.Canceled):
		con.errorf("%v", sendErr)
	case batchErr != nil && !errors.Is(batchErr, context.Canceled):
		con.errorf("%v", batchErr)
	case sendErr != nil || batchErr != nil || (interrupted.Load() && !opts.follow):
		unsent := "rerun the same command to send the rest"
		if sp != nil {
			unsent = "rerun with the same --spool to continue where this run stopped"
		}
		con.errorf("interrupted before everything was acknowledged; %s", unsent)
	case readErr != nil && !errors.Is(readErr, context.Canceled):
		con.errorf("%v", readErr)
		return exitUnreadable
	case stats.Failed > 0:
		con.errorf("%d events could not be stored", stats.Failed)
	case f.files.FilesFailed > 0:
		return exitUnreadable
	case stats.Rejected+f.rejectedLocally > 0:
		return exitRejected
	default:
		return exitOK
	}
	return exitFailure
}

// every calls fn every interval on its own goroutine until the returned
// function is called; that function waits for a running fn and calls fn a
// last time.
func every(interval time.Duration, fn func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fn()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		fn()
	}
}

// figures are the counts the progress line, the summary and the metrics show.
type figures struct {
	stats           deliver.Stats
	taken           int64 // events read and spooled (or handed on, without a spool)
	rejectedLocally int64
	files           source.DirStats
	spoolBytes      int64
}

// backlog is the number of events read but without a final outcome.
func (f figures) backlog() int64 {
	return max(0, f.taken-f.stats.Resolved())
}

func summary(f figures, elapsed time.Duration) string {
	s := f.stats
	rate := 0.0
	if elapsed > 0 {
		rate = float64(s.Stored+s.Duplicate+s.Rejected) / elapsed.Seconds()
	}
	return fmt.Sprintf("%ssent %d stored %d duplicate %d rejected %d failed %d in %s (%.0f events/s)",
		filesText(f), s.Sent+f.rejectedLocally, s.Stored, s.Duplicate, s.Rejected+f.rejectedLocally, s.Failed, roundDuration(elapsed), rate)
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
