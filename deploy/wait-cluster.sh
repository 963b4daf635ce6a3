#!/usr/bin/env bash
# Waits until a cluster is formed, as `cairnctl status -o json` reports it:
# NODES nodes alive, and every shard with a leader and REPLICAS replicas,
# both placed and reporting. Prints the progress while it waits. Exit status
# 0 once formed, 1 after TIMEOUT seconds. `make up` runs it.
#
#   deploy/wait-cluster.sh [SERVER]     (default 127.0.0.1:7401)
#
# Environment: CAIRNCTL (default bin/cairnctl), NODES and REPLICAS (3),
# TIMEOUT in seconds (180).
set -euo pipefail

server=${1:-127.0.0.1:7401}
cairnctl=${CAIRNCTL:-bin/cairnctl}
nodes=${NODES:-3}
replicas=${REPLICAS:-3}
timeout=${TIMEOUT:-180}

# count prints how many times the pattern occurs in $flat.
count() {
	{ grep -o "$1" <<<"$flat" || true; } | wc -l
}

# lists prints how many of the JSON lists or objects matching the pattern
# have exactly $replicas members.
lists() {
	{ grep -o "$1" <<<"$flat" || true; } | awk -F, -v n="$replicas" 'NF == n && !/(\[\]|\{\})$/' | wc -l
}

start=$SECONDS
last=""
while :; do
	elapsed=$((SECONDS - start))
	if out=$("$cairnctl" --server "$server" --timeout 5s status -o json 2>&1); then
		# The output is indented JSON whose strings hold no spaces (ids,
		# addresses, states); without whitespace each field is one match.
		flat=$(tr -d ' \n' <<<"$out")
		alive=$(count '"state":"alive"')
		shards=$(count '"leader":"')
		led=$(count '"leader":"[^"]')
		placed=$(lists '"replicas":\[[^]]*\]')
		reporting=$(lists '"replica_applied":{[^}]*}')
		if ((alive == nodes && shards > 0 && led == shards && placed == shards && reporting == shards)); then
			echo "cluster formed after ${elapsed}s: $alive nodes, $shards shards, each with a leader and $replicas replicas"
			exit 0
		fi
		now="$alive/$nodes nodes alive; of $shards shards $led have a leader, $placed are placed on $replicas nodes, $reporting have $replicas replicas running"
	else
		now=${out##*$'\n'}
	fi
	if [[ $now != "$last" ]] || ((elapsed % 10 == 0)); then
		echo "waiting (${elapsed}s): $now"
		last=$now
	fi
	if ((elapsed >= timeout)); then
		echo "the cluster at $server was not formed after ${timeout}s" >&2
		exit 1
	fi
	sleep 1
done
