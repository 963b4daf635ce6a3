package event

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps the package light enough for the agent: no storage
// engine, no consensus, and no direct gRPC. (The wire package cairnv1 holds the
// generated gRPC stubs too, so gRPC is linked through it; only a direct import
// is forbidden here.)
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/cockroachdb/pebble", "github.com/hashicorp/raft"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("storage/event depends on %s", dep)
			}
		}
	}
	out, err = exec.Command(goTool, "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list -f: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.HasPrefix(imp, "google.golang.org/grpc") {
			t.Errorf("storage/event imports %s directly", imp)
		}
	}
}
