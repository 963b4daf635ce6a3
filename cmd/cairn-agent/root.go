package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-lake/cairn/cmd/internal/grpcdial"
)

// Exit codes.
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 2
	exitRejected   = 3
	exitUnreadable = 4
)

const defaultServer = "127.0.0.1:7400"

// giveUpAfter is how long the agent tries to reach a server before it fails.
var giveUpAfter = 30 * time.Second

// options are the command-line flags.
type options struct {
	servers     string
	token       string
	spool       string
	generate    int64
	accounts    int
	seed        int64
	start       string
	days        int
	rate        float64
	file        string
	dir         string
	follow      bool
	poll        time.Duration
	batch       int
	window      int
	linger      time.Duration
	rejects     string
	metricsAddr string
	quiet       bool

	startTime time.Time // --start, parsed
}

// usageError marks an error in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// exitError ends the program with code after its messages were printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts := options{}
	cmd := &cobra.Command{
		Use:   "cairn-agent (--dir PATH | --file PATH|- | --generate N) [flags]",
		Short: "Stream CloudTrail events to a Cairn cluster",
		Long: `cairn-agent reads CloudTrail records and streams them to a Cairn cluster over
one gRPC stream, with a bounded number of batches in flight. Events the
cluster could not store for now are re-sent; if the stream breaks, the agent
reconnects to the next server and re-sends what was not acknowledged.

Sources (exactly one):
  --dir PATH     every CloudTrail log file below PATH, in the layout CloudTrail
                 writes to S3 or any other; digest and non-CloudTrail files are
                 skipped with a note; --follow keeps watching for new files
  --file PATH    one file; "-" reads standard input
  --generate N   N realistic synthetic events (the same ones for the same
                 --seed, --accounts, --start and --days)
Files may be gzip or plain, and hold {"Records":[…]}, a JSON array of records
or one record per line.

With --spool DIR, every batch is written to DIR before it is sent and stays
there until the cluster acknowledges it. After a crash or kill, the same
command with the same --spool re-sends exactly the batches that were not
acknowledged and continues the source where it stood: files already read
are not read again.

Exit status: 0 when every event read was acknowledged as stored (or already
stored); 3 when the cluster or the agent rejected some events (see
--rejects); 4 when some files could not be read or parsed (their readable
events were sent); 1 when events could not be delivered, or on any other
failure; 2 on a usage error.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(cmd); err != nil {
				return usageError{err}
			}
			code := agent(cmd.Context(), opts, stdout, stderr)
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
	f.StringVar(&opts.token, "token", os.Getenv("CAIRN_TOKEN"), "ingest token from cairnctl token create (env CAIRN_TOKEN)")
	f.StringVar(&opts.spool, "spool", "", "keep unacknowledged batches and the source position in `DIR`, to resume after a crash")
	f.StringVar(&opts.dir, "dir", "", "send every CloudTrail log file below `PATH`")
	f.BoolVar(&opts.follow, "follow", false, "with --dir: keep watching for new files until interrupted")
	f.DurationVar(&opts.poll, "poll", 5*time.Second, "with --follow: how often to look for new files")
	f.StringVar(&opts.file, "file", "", "send the records of one file (`PATH`, or - for standard input)")
	f.Int64Var(&opts.generate, "generate", 0, "send `N` generated events")
	f.IntVar(&opts.accounts, "accounts", 24, "with --generate: number of accounts")
	f.Int64Var(&opts.seed, "seed", 1, "with --generate: random seed")
	f.StringVar(&opts.start, "start", "", "with --generate: earliest eventTime, `YYYY-MM-DD` or RFC 3339 (default: --days days before today, 00:00 UTC)")
	f.IntVar(&opts.days, "days", 7, "with --generate: spread events over `D` days")
	f.Float64Var(&opts.rate, "rate", 0, "with --generate: events per second (0: as fast as the cluster takes them)")
	f.IntVar(&opts.batch, "batch", 500, "events per batch")
	f.IntVar(&opts.window, "window", 8, "batches in flight")
	f.DurationVar(&opts.linger, "linger", 200*time.Millisecond, "send a partial batch after this long without new records")
	f.StringVar(&opts.rejects, "rejects", "", "append every rejected event to `FILE` as a JSON line with the reason")
	f.StringVar(&opts.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on `host:port` (/metrics)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress lines or notes; errors and the summary only")
	f.SortFlags = false

	err := cmd.ExecuteContext(ctx)
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
	sources := 0
	for _, name := range []string{"generate", "file", "dir"} {
		if changed(name) {
			sources++
		}
	}
	switch {
	case sources > 1:
		return errors.New("give one source: --dir, --file or --generate")
	case sources == 0:
		return errors.New("nothing to send: give --dir PATH, --file PATH or --generate N")
	case changed("generate") && o.generate <= 0:
		return errors.New("--generate must be at least 1")
	case changed("file") && o.file == "":
		return errors.New("--file needs a path, or - for standard input")
	case changed("dir") && o.dir == "":
		return errors.New("--dir needs a path")
	case o.follow && !changed("dir"):
		return errors.New("--follow only applies to --dir")
	case changed("poll") && !o.follow:
		return errors.New("--poll only applies to --follow")
	case o.poll <= 0:
		return errors.New("--poll must be positive")
	case o.batch <= 0:
		return errors.New("--batch must be at least 1")
	case o.batch > 10000:
		return errors.New("--batch can be at most 10000, the cluster's limit")
	case o.window <= 0:
		return errors.New("--window must be at least 1")
	case o.linger <= 0:
		return errors.New("--linger must be positive")
	case len(o.serverList()) == 0:
		return errors.New("--server is empty: give host:port[,host:port…] or set CAIRN_SERVER")
	}
	for _, name := range []string{"accounts", "seed", "days", "start", "rate"} {
		if changed(name) && !changed("generate") {
			return fmt.Errorf("--%s only applies to --generate", name)
		}
	}
	if o.accounts <= 0 || o.days <= 0 {
		return errors.New("--accounts and --days must be at least 1")
	}
	if o.rate < 0 {
		return errors.New("--rate cannot be negative")
	}
	if o.start != "" {
		t, err := parseStart(o.start)
		if err != nil {
			return err
		}
		o.startTime = t
	}
	return nil
}

// parseStart reads --start: a date (midnight UTC) or an RFC 3339 time.
func parseStart(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("--start %q: want YYYY-MM-DD or an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
}

func (o *options) serverList() []string { return grpcdial.SplitServers(o.servers) }
