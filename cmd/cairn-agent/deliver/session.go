package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cairn-lake/cairn/cmd/internal/grpcdial"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// session is one connection and its Ingest stream.
type session struct {
	addr   string
	conn   *grpc.ClientConn
	stream grpc.BidiStreamingClient[cairnv1.IngestRequest, cairnv1.IngestResponse]
	cancel context.CancelFunc
	recv   chan recvMsg  // responses, then one error
	done   chan struct{} // closed by close
	wg     sync.WaitGroup
}

type recvMsg struct {
	resp *cairnv1.IngestResponse
	err  error
}

// openSession connects to addr, waiting at most cfg.ConnectTimeout for the
// connection to be ready, and opens an Ingest stream on it, authenticated
// with cfg.Token. The error of a failed connection names the network cause
// ("connection refused", "timed out after 3s").
func openSession(ctx context.Context, addr string, cfg Config) (*session, error) {
	timeout := cfg.ConnectTimeout
	opts := []grpc.DialOption{
		// The Sender runs its own reconnect loop over the server list; keep
		// gRPC's internal backoff short so that it never hides a server that
		// came back.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: timeout,
		}),
	}
	conn, err := grpcdial.Connect(ctx, addr, timeout, append(opts, cfg.DialOptions...)...)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	if cfg.Token != "" {
		sctx = metadata.AppendToOutgoingContext(sctx, "authorization", "Bearer "+cfg.Token)
	}
	stream, err := cairnv1.NewIngestServiceClient(conn).Ingest(sctx)
	if err != nil {
		cancel()
		_ = conn.Close()
		return nil, errors.New(describe(err))
	}
	sess := &session{
		addr:   addr,
		conn:   conn,
		stream: stream,
		cancel: cancel,
		// A stream never has more than window responses outstanding, so the
		// receiver never blocks on a full channel while Run is sending.
		recv: make(chan recvMsg, cfg.Window+1),
		done: make(chan struct{}),
	}
	sess.wg.Go(sess.receive)
	return sess, nil
}

// receive forwards the stream's responses to recv until the stream ends.
func (sess *session) receive() {
	for {
		resp, err := sess.stream.Recv()
		if errors.Is(err, io.EOF) {
			err = errors.New("server closed the stream")
		}
		select {
		case sess.recv <- recvMsg{resp: resp, err: err}:
		case <-sess.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (sess *session) close() {
	sess.cancel()
	close(sess.done)
	sess.wg.Wait()
	_ = sess.conn.Close()
}

// fatal reports whether a stream error means that no retry can succeed.
func fatal(err error) bool {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.Unimplemented:
		return true
	}
	return false
}

// describe renders a gRPC error as one line.
func describe(err error) string {
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s (%s)", st.Message(), st.Code())
	}
	return err.Error()
}
