// Package e2e holds Cairn's fault tests: each starts a 3-node cluster in
// Docker containers of the cairn:dev image, keeps two cairn-agent processes
// and a probe writer ingesting while it kills, partitions, pauses, stops or
// restarts nodes, queries throughout, and then checks that every
// acknowledged event is stored exactly once on every replica and that the
// replicas agree.
//
// The tests are behind the build tag e2e, so `go test ./...` only compiles
// this file:
//
//	make e2e                                   # builds bin/ and the image first
//	CAIRN_BIN=$PWD/bin go test -tags e2e -count=1 -timeout 20m ./test/e2e/ -v
//
// Environment: CAIRN_BIN, the directory holding cairn-agent (default bin/ of
// the repository); CAIRN_IMAGE, the node image (cairn:dev); E2E_REPORT, a file
// to which every scenario appends its summary line; E2E_LOG_DIR, a directory
// that keeps every node's log (by default the logs are kept only when a
// scenario fails, in a directory the test names).
package e2e
