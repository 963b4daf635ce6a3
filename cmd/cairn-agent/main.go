// Command cairn-agent reads CloudTrail records and streams them to a Cairn
// cluster.
//
//	cairn-agent --server host:port[,host:port…] --generate N [--accounts K] [--seed S] [--days D]
//	cairn-agent --server host:port[,host:port…] --file PATH|-
//
// Exit status: 0 when every event was stored (or already was), 3 when the
// cluster rejected some, 1 on any other failure, 2 on a usage error.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
