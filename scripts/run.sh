#!/usr/bin/env bash
# `make run`: start a single-node development cluster in ./data, load sample
# events into it with cairn-agent, show the cluster, the events per account
# and the top event names with cairnctl, then stop the node. The data stays in ./data; `bin/cairnd --dev` serves it again.
#
# Expects the binaries in bin/ (make build). Environment:
#   EVENTS   number of sample events to load (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${EVENTS:-20000}
DATA=data
LOG=$DATA/cairnd.log
GRPC=127.0.0.1:7400
HTTP_HOST=127.0.0.1
HTTP_PORT=7600

pid=""
stop_cairnd() {
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		echo "==> stopping cairnd (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 300); do # up to 30 s for a graceful shutdown
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "cairnd did not stop within 30s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
	pid=""
}
trap stop_cairnd EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ready asks cairnd's /readyz over bash's /dev/tcp, so that no HTTP client
# needs to be installed.
ready() {
	local status
	{ exec 3<>"/dev/tcp/$HTTP_HOST/$HTTP_PORT"; } 2>/dev/null || return 1
	printf 'GET /readyz HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$HTTP_HOST" "$HTTP_PORT" >&3
	IFS= read -r -t 2 status <&3 || status=""
	exec 3<&- 3>&-
	[[ $status == "HTTP/1."?" 200"* ]]
}

if ready; then
	echo "something already answers on $HTTP_HOST:$HTTP_PORT; stop it first (is cairnd running?)" >&2
	exit 1
fi

mkdir -p "$DATA"
echo "==> starting bin/cairnd --dev (data in ./$DATA, log in $LOG)"
bin/cairnd --dev >>"$LOG" 2>&1 &
pid=$!

for i in $(seq 300); do # up to 60 s
	if ready; then
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "cairnd exited during start-up; the end of $LOG:" >&2
		tail -n 30 "$LOG" >&2
		exit 1
	fi
	if ((i == 300)); then
		echo "cairnd was not ready after 60s; the end of $LOG:" >&2
		tail -n 30 "$LOG" >&2
		exit 1
	fi
	sleep 0.2
done
echo "==> cairnd is ready"

echo "==> bin/cairn-agent --server $GRPC --generate $EVENTS"
agent_rc=0
bin/cairn-agent --server "$GRPC" --generate "$EVENTS" || agent_rc=$?

echo "==> bin/cairnctl --server $GRPC status"
status_rc=0
bin/cairnctl --server "$GRPC" status || status_rc=$?

echo "==> bin/cairnctl --server $GRPC accounts"
bin/cairnctl --server "$GRPC" accounts || status_rc=$?

QUERY="SELECT eventName, count(*) AS events FROM events GROUP BY eventName ORDER BY events DESC LIMIT 10"
echo "==> bin/cairnctl --server $GRPC query \"$QUERY\""
bin/cairnctl --server "$GRPC" query "$QUERY" || status_rc=$?

stop_cairnd

cat <<EOF

The events are stored in ./$DATA (cairnd's log: $LOG).
To serve them again:    bin/cairnd --dev
then, in another shell: bin/cairnctl status
To start from scratch:  rm -rf ./$DATA
EOF

if ((agent_rc != 0)); then
	echo "cairn-agent failed (exit $agent_rc)" >&2
	exit "$agent_rc"
fi
exit "$status_rc"
