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

	"github.com/cairn-lake/cairn/cmd/internal/grpcdial"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const defaultServer = "127.0.0.1:7400"

// globals holds the flags every command shares and what they are resolved to.
type globals struct {
	server  string
	output  string
	timeout time.Duration
	token   string

	stdout, stderr io.Writer
}

// runError is a command's failure at run time (exit 1), as opposed to an
// error in how it was called (exit 2).
type runError struct{ err error }

func (e runError) Error() string { return e.err.Error() }
func (e runError) Unwrap() error { return e.err }

// errReported ends a command with exit 1 after it printed its own result,
// such as a verify report with a mismatch.
var errReported = errors.New("reported")

func run(args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	var re runError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errReported):
		return exitFailure
	case errors.As(err, &re):
		fmt.Fprintf(stderr, "cairnctl: %s\n", describe(re.err))
		return exitFailure
	default:
		fmt.Fprintf(stderr, "cairnctl: %v\nRun 'cairnctl --help' for usage.\n", err)
		return exitUsage
	}
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "cairnctl",
		Short: "Administer and inspect a Cairn cluster",
		Long: `cairnctl administers and inspects a Cairn cluster over gRPC.

It talks to the first server of --server that answers; any node of the
cluster serves every command.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return g.validate()
		},
	}
	server := os.Getenv("CAIRN_SERVER")
	if server == "" {
		server = defaultServer
	}
	f := root.PersistentFlags()
	f.StringVar(&g.server, "server", server, "servers to try in order, host:port[,host:port…] (env CAIRN_SERVER)")
	f.StringVarP(&g.output, "output", "o", "table", "output format: table or json (and csv for query)")
	f.DurationVar(&g.timeout, "timeout", 10*time.Second, "deadline for each request")
	f.StringVar(&g.token, "token", "", "admin token for the calls that change the cluster (env CAIRN_TOKEN)")

	root.AddCommand(newStatusCmd(g), newAccountsCmd(g), newLookupCmd(g), newQueryCmd(g), newNodeCmd(g), newTokenCmd(g), newVerifyCmd(g),
		newRetentionCmd(g), newHoldCmd(g))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	return root
}

func (g *globals) validate() error {
	switch {
	case g.output != "table" && g.output != "json" && g.output != "csv":
		return fmt.Errorf("unknown output format %q: use -o table, -o json or (for query) -o csv", g.output)
	case len(g.servers()) == 0:
		return errors.New("--server is empty: give host:port[,host:port…] or set CAIRN_SERVER")
	case g.timeout <= 0:
		return errors.New("--timeout must be positive")
	}
	return nil
}

func (g *globals) servers() []string { return grpcdial.SplitServers(g.server) }

// action adapts a command body to cobra, marking its errors as run-time
// failures.
func action(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd.Context(), args); err != nil {
			if errors.Is(err, errReported) {
				return err
			}
			return runError{err}
		}
		return nil
	}
}
