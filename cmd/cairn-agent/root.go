package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-lake/cairn/cmd/cairn-agent/deliver"
	"github.com/cairn-lake/cairn/cmd/cairn-agent/source"
	"github.com/cairn-lake/cairn/cmd/internal/grpcdial"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitRejected = 3
)

const defaultServer = "127.0.0.1:7400"

// giveUpAfter is how long the agent tries to reach a server before it fails.
var giveUpAfter = 30 * time.Second

// options are the command-line flags.
type options struct {
	servers  string
	generate int
	accounts int
	seed     int64
	days     int
	file     string
	batch    int
	window   int
	quiet    bool
}

// usageError marks an error in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// exitError ends the program with code after its messages were printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func run(args []string, stdout, stderr io.Writer) int {
	opts := options{}
	cmd := &cobra.Command{
		Use:   "cairn-agent (--generate N | --file PATH|-) [flags]",
		Short: "Stream CloudTrail events to a Cairn cluster",
		Long: `cairn-agent reads CloudTrail records and streams them to a Cairn cluster over
one gRPC stream, with a bounded number of batches in flight. Events the
cluster could not store for now are re-sent; if the stream breaks, the agent
reconnects to the next server and re-sends what was not acknowledged.

Sources:
  --generate N   N synthetic events (deterministic for a given --seed)
  --file PATH    one file, gzip or plain: a CloudTrail log file
                 ({"Records":[…]}), a JSON array of records, or one record
                 per line; "-" reads standard input

Exit status: 0 when every event was stored (or already was), 3 when the
cluster rejected some, 1 on any other failure, 2 on a usage error.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(cmd); err != nil {
				return usageError{err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			code := agent(ctx, opts, stdout, stderr)
			if code != exitOK {
				return exitError{code}
			}
			return nil
		},
	}
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	server := os.Getenv("CAIRN_SERVER")
	if server == "" {
		server = defaultServer
	}
	f := cmd.Flags()
	f.StringVar(&opts.servers, "server", server, "cluster servers to try in order, host:port[,host:port…] (env CAIRN_SERVER)")
	f.IntVar(&opts.generate, "generate", 0, "send `N` generated events")
	f.IntVar(&opts.accounts, "accounts", 24, "with --generate: number of accounts")
	f.Int64Var(&opts.seed, "seed", 1, "with --generate: random seed")
	f.IntVar(&opts.days, "days", 7, "with --generate: spread events over the last `D` days")
	f.StringVar(&opts.file, "file", "", "send the records of one file (`PATH`, or - for standard input)")
	f.IntVar(&opts.batch, "batch", 500, "events per batch")
	f.IntVar(&opts.window, "window", 8, "batches in flight")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress line")
	f.SortFlags = false

	err := cmd.ExecuteContext(context.Background())
	var exit exitError
	var usage usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &exit):
		return exit.code
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "cairn-agent: %v\nRun 'cairn-agent --help' for usage.\n", err)
		return exitUsage
	default: // cobra's own errors, such as unexpected arguments
		fmt.Fprintf(stderr, "cairn-agent: %v\nRun 'cairn-agent --help' for usage.\n", err)
		return exitUsage
	}
}

func (o *options) validate(cmd *cobra.Command) error {
	changed := cmd.Flags().Changed
	switch {
	case changed("generate") && changed("file"):
		return errors.New("give either --generate or --file, not both")
	case !changed("generate") && !changed("file"):
		return errors.New("nothing to send: give --generate N or --file PATH")
	case changed("generate") && o.generate <= 0:
		return errors.New("--generate must be at least 1")
	case changed("file") && o.file == "":
		return errors.New("--file needs a path, or - for standard input")
	case o.batch <= 0:
		return errors.New("--batch must be at least 1")
	case o.window <= 0:
		return errors.New("--window must be at least 1")
	case len(o.serverList()) == 0:
		return errors.New("--server is empty: give host:port[,host:port…] or set CAIRN_SERVER")
	}
	for _, name := range []string{"accounts", "seed", "days"} {
		if changed(name) && !changed("generate") {
			return fmt.Errorf("--%s only applies to --generate", name)
		}
	}
	if o.accounts <= 0 || o.days <= 0 {
		return errors.New("--accounts and --days must be at least 1")
	}
	return nil
}

func (o *options) serverList() []string { return grpcdial.SplitServers(o.servers) }

// agent sends everything the chosen source holds and returns the exit code.
func agent(ctx context.Context, opts options, stdout, stderr io.Writer) int {
	con := newConsole(stderr)

	// 1. Open the source.
	var src source.Reader
	if opts.file != "" {
		f, err := source.OpenFile(opts.file)
		if err != nil {
			con.errorf("%v", err)
			return exitFailure
		}
		defer f.Close()
		src = f
	} else {
		src = newGenerated(opts.generate, opts.accounts, opts.seed, opts.days, time.Now())
	}

	// 2. Start reading batches from it; the sender takes them as its window allows.
	rejects := newRejectLog(con, 20)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *deliver.Batch)
	b := &batcher{src: src, size: opts.batch, maxBytes: maxBatchBytes, onTooLarge: rejects.tooLarge}
	readDone := make(chan error, 1)
	go func() { readDone <- b.run(ctx, batches) }()

	// 3. Deliver, with a progress line each second.
	sender := deliver.New(deliver.Config{
		Servers:     opts.serverList(),
		Window:      opts.window,
		GiveUpAfter: giveUpAfter,
		OnRejected:  rejects.add,
		Warn:        func(msg string) { con.errorf("%s", msg) },
	})
	start := time.Now()
	stopProgress := con.startProgress(opts.quiet, func() progress {
		return progress{stats: sender.Stats(), rejectedLocally: rejects.local()}
	})
	sendErr := sender.Run(ctx, batches)
	cancel()
	readErr := <-readDone
	stopProgress()

	// 4. Report.
	rejects.flush()
	stats := sender.Stats()
	stats.Sent += rejects.local()
	stats.Rejected += rejects.local()
	fmt.Fprintln(stdout, summary(stats, time.Since(start)))
	code := exitOK
	switch {
	case errors.Is(sendErr, deliver.ErrUnreachable):
		con.errorf("%v; is cairnd running? set --server or CAIRN_SERVER", sendErr)
		code = exitFailure
	case sendErr != nil && !errors.Is(sendErr, context.Canceled):
		con.errorf("%v", sendErr)
		code = exitFailure
	case readErr != nil && !errors.Is(readErr, context.Canceled):
		con.errorf("%v", readErr)
		code = exitFailure
	case sendErr != nil:
		con.errorf("interrupted")
		code = exitFailure
	case stats.Failed > 0:
		con.errorf("%d events could not be stored", stats.Failed)
		code = exitFailure
	case stats.Rejected > 0:
		code = exitRejected
	}
	return code
}

func summary(s deliver.Stats, elapsed time.Duration) string {
	rate := 0.0
	if elapsed > 0 {
		rate = float64(s.Stored+s.Duplicate+s.Rejected) / elapsed.Seconds()
	}
	return fmt.Sprintf("sent %d stored %d duplicate %d rejected %d failed %d in %s (%.0f events/s)",
		s.Sent, s.Stored, s.Duplicate, s.Rejected, s.Failed, roundDuration(elapsed), rate)
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
