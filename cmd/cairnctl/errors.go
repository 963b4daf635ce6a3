package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unreachableError: no server of the list accepted a connection.
type unreachableError struct {
	servers []string
	reasons []error // one per server, in order
	node    bool    // an address from the cluster, not one of --server
}

func (e *unreachableError) Error() string {
	var b strings.Builder
	if e.node {
		fmt.Fprintf(&b, "cannot reach %s: %v", e.servers[0], e.reasons[0])
		return b.String()
	}
	fmt.Fprintf(&b, "cannot reach any server (%s): ", strings.Join(e.servers, ", "))
	if len(e.reasons) == 1 {
		b.WriteString(e.reasons[0].Error())
	} else {
		for i, r := range e.reasons {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %v", e.servers[i], r)
		}
	}
	b.WriteString("; is cairnd running? set --server or CAIRN_SERVER")
	return b.String()
}

// rpcError is a call that reached a server and failed there.
type rpcError struct {
	addr, method string
	timeout      time.Duration
	err          error
}

func (e *rpcError) Error() string { return describeStatus(e) }
func (e *rpcError) Unwrap() error { return e.err }

// describe renders any command error as the one line printed after
// "cairnctl: ".
func describe(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	}
	return err.Error()
}

// describeStatus maps a gRPC status to a message that says what went wrong
// and what to do.
func describeStatus(e *rpcError) string {
	st, ok := status.FromError(e.err)
	if !ok {
		return fmt.Sprintf("%s on %s: %v", e.method, e.addr, e.err)
	}
	msg := st.Message()
	switch st.Code() {
	case codes.DeadlineExceeded:
		return fmt.Sprintf("%s on %s: no answer within %s; the cluster may be busy or without a leader (raise --timeout to wait longer)", e.method, e.addr, e.timeout)
	case codes.Unavailable:
		return fmt.Sprintf("%s on %s: server unavailable: %s", e.method, e.addr, msg)
	case codes.Unimplemented:
		return fmt.Sprintf("%s on %s: not supported by this server; is it an older cairnd?", e.method, e.addr)
	case codes.Canceled:
		return "interrupted"
	case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition, codes.AlreadyExists, codes.OutOfRange:
		return fmt.Sprintf("%s: %s", e.method, msg)
	case codes.Unauthenticated, codes.PermissionDenied:
		return fmt.Sprintf("%s on %s: %s", e.method, e.addr, msg)
	}
	return fmt.Sprintf("%s on %s: %s (%s)", e.method, e.addr, msg, st.Code())
}
