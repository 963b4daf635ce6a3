// Command cairnctl administers and inspects a Cairn cluster.
//
//	cairnctl [--server host:port[,…]] [-o table|json] [--timeout 10s] <command>
//
// Exit status: 0 on success, 1 when the command failed (or verify found a
// difference), 2 on a usage error.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
