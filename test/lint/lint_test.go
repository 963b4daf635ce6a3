// Package lint holds tests that keep the repository's architecture honest:
// which package may import which (the table in STYLE.md), and no fmt.Print
// in server code. They read the code through `go list`, so they need the go
// command but nothing else.
package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/cairn-lake/cairn"

// rule forbids the packages matching from to import, directly or through
// other packages, any package matching forbid (except those matching allow).
// A pattern is an import path, or a path ending in "/..." for that path and
// everything below it. Paths without a domain are relative to the module.
type rule struct {
	from   []string
	forbid []string
	allow  []string
	why    string
}

var rules = []rule{
	{
		from:   []string{"proto/cairn/v1/..."},
		forbid: []string{"..."},
		allow:  []string{"proto/cairn/v1/..."},
		why:    "generated wire types import nothing of ours",
	},
	{
		from:   []string{"storage/..."},
		forbid: []string{"node/...", "query/...", "cmd/...", "test/..."},
		why:    "storage sits below query and node and knows nothing of them",
	},
	{
		from:   []string{"query/..."},
		forbid: []string{"node/...", "cmd/...", "test/..."},
		why:    "query sits below node; node reaches it through small interfaces",
	},
	{
		from:   []string{"node/..."},
		forbid: []string{"cmd/...", "test/..."},
		why:    "only cmd/ wires concrete types together",
	},
	{
		from: []string{"cmd/cairn-agent/...", "cmd/cairnctl/..."},
		forbid: []string{
			"github.com/cockroachdb/pebble/...",
			"github.com/cockroachdb/pebble/v2/...",
			"github.com/hashicorp/raft/...",
			"github.com/hashicorp/raft-wal/...",
			"github.com/hashicorp/raft-boltdb/...",
			"github.com/hashicorp/raft-boltdb/v2/...",
		},
		why: "the agent and cairnctl never link Pebble or Raft",
	},
}

// pkg is the part of `go list -json` output these tests read.
type pkg struct {
	ImportPath     string
	Dir            string
	Standard       bool
	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string
	Imports        []string
	Error          *struct{ Err string }
}

// TestImportDirection fails when a package imports across the table of
// STYLE.md, naming the chain of imports that does it.
func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t)
	graph := map[string][]string{}
	var ours []string
	for _, p := range pkgs {
		graph[p.ImportPath] = p.Imports
		if isOurs(p.ImportPath) {
			ours = append(ours, p.ImportPath)
		}
	}
	for _, v := range violations(graph, ours, rules) {
		t.Error(v)
	}
}

// TestNoFmtPrintOutsideCmd: code outside cmd/ logs with log/slog and never
// prints to standard output with fmt.Print, fmt.Printf or fmt.Println.
func TestNoFmtPrintOutsideCmd(t *testing.T) {
	root := moduleRoot(t)
	for _, p := range listPackages(t) {
		rel := relative(p.ImportPath)
		if !isOurs(p.ImportPath) || rel == "cmd" || strings.HasPrefix(rel, "cmd/") {
			continue
		}
		files := slices.Concat(p.GoFiles, p.CgoFiles, p.IgnoredGoFiles)
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			path := filepath.Join(p.Dir, name)
			calls, err := fmtPrintCalls(path)
			if err != nil {
				t.Errorf("cannot check %s: %v", path, err)
				continue
			}
			for _, c := range calls {
				file := c.file
				if r, err := filepath.Rel(root, file); err == nil {
					file = r
				}
				t.Errorf("%s:%d: fmt.%s outside cmd/; log with log/slog instead", file, c.line, c.fn)
			}
		}
	}
}

// TestViolationsReportChain checks the checker on a made-up graph: a rule
// broken two imports deep is reported once, with its whole chain.
func TestViolationsReportChain(t *testing.T) {
	graph := map[string][]string{
		module + "/storage/event":           {"fmt", module + "/storage"},
		module + "/storage":                 {module + "/proto/cairn/v1", module + "/node/raftmux"},
		module + "/node/raftmux":            {"github.com/hashicorp/raft"},
		module + "/proto/cairn/v1":          {"google.golang.org/protobuf/proto"},
		module + "/cmd/cairn-agent":         {module + "/cmd/cairn-agent/deliver"},
		module + "/cmd/cairn-agent/deliver": {module + "/storage/event"},
		"github.com/hashicorp/raft":         {"github.com/hashicorp/go-hclog"},
	}
	var ours []string
	for p := range graph {
		if isOurs(p) {
			ours = append(ours, p)
		}
	}
	got := violations(graph, ours, rules)
	want := []string{
		"cmd/cairn-agent imports github.com/hashicorp/raft (the agent and cairnctl never link Pebble or Raft): " +
			"cmd/cairn-agent → cmd/cairn-agent/deliver → storage/event → storage → node/raftmux → github.com/hashicorp/raft",
		"cmd/cairn-agent/deliver imports github.com/hashicorp/raft (the agent and cairnctl never link Pebble or Raft): " +
			"cmd/cairn-agent/deliver → storage/event → storage → node/raftmux → github.com/hashicorp/raft",
		"storage imports node/raftmux (storage sits below query and node and knows nothing of them): " +
			"storage → node/raftmux",
		"storage/event imports node/raftmux (storage sits below query and node and knows nothing of them): " +
			"storage/event → storage → node/raftmux",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// violations returns one message per package of ours and forbidden package
// it reaches, with the shortest chain of imports from one to the other, in a
// stable order.
func violations(graph map[string][]string, ours []string, rules []rule) []string {
	var out []string
	for _, r := range rules {
		for _, from := range ours {
			if !matchAny(r.from, from) {
				continue
			}
			for _, chain := range forbiddenChains(graph, from, func(p string) bool {
				return p != from && matchAny(r.forbid, p) && !matchAny(r.allow, p)
			}) {
				names := make([]string, len(chain))
				for i, p := range chain {
					names[i] = relative(p)
				}
				out = append(out, fmt.Sprintf("%s imports %s (%s): %s",
					names[0], names[len(names)-1], r.why, strings.Join(names, " → ")))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// forbiddenChains searches the imports of from breadth first and returns,
// for every forbidden package reached, the shortest chain to it. It does not
// search past a forbidden package: the first one on a path is the one to fix.
func forbiddenChains(graph map[string][]string, from string, forbidden func(string) bool) [][]string {
	parent := map[string]string{from: ""}
	queue := []string{from}
	var hits []string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		imports := slices.Clone(graph[p])
		slices.Sort(imports) // deterministic chains
		for _, imp := range imports {
			if _, seen := parent[imp]; seen {
				continue
			}
			parent[imp] = p
			if forbidden(imp) {
				hits = append(hits, imp)
				continue
			}
			queue = append(queue, imp)
		}
	}
	chains := make([][]string, 0, len(hits))
	for _, hit := range hits {
		var chain []string
		for p := hit; p != ""; p = parent[p] {
			chain = append(chain, p)
		}
		slices.Reverse(chain)
		chains = append(chains, chain)
	}
	return chains
}

// matchAny reports whether path matches one of the patterns; see rule.
func matchAny(patterns []string, path string) bool {
	for _, pat := range patterns {
		if !isDomainPath(pat) {
			if pat == "..." {
				pat = module + "/..."
			} else {
				pat = module + "/" + pat
			}
		}
		if base, ok := strings.CutSuffix(pat, "/..."); ok {
			if path == base || strings.HasPrefix(path, base+"/") {
				return true
			}
		} else if path == pat {
			return true
		}
	}
	return false
}

func isDomainPath(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.Contains(first, ".")
}

func isOurs(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

// relative shortens a path of ours to its module-relative form.
func relative(path string) string {
	if rel, ok := strings.CutPrefix(path, module+"/"); ok {
		return rel
	}
	return path
}

// listPackages returns every package of the module and every package they
// depend on, as `go list -e -deps` reports them; packages that do not build
// are still listed with the imports their files declare.
func listPackages(t *testing.T) []*pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps",
		"-json=ImportPath,Dir,Standard,GoFiles,CgoFiles,IgnoredGoFiles,Imports,Error", "./...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []*pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("cannot read go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if !slices.ContainsFunc(pkgs, func(p *pkg) bool { return isOurs(p.ImportPath) }) {
		t.Fatalf("go list found no packages of %s", module)
	}
	return pkgs
}

// moduleRoot is the directory holding go.mod, above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find go.mod above the test directory")
		}
		dir = parent
	}
}

type printCall struct {
	file string
	line int
	fn   string // Print, Printf or Println
}

// fmtPrintCalls returns every call of fmt.Print, fmt.Printf or fmt.Println
// in the Go file at path, whatever name fmt is imported as.
func fmtPrintCalls(path string) ([]printCall, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	name := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "fmt" {
			name = "fmt"
			if imp.Name != nil {
				name = imp.Name.Name
			}
		}
	}
	if name == "" || name == "_" {
		return nil, nil
	}
	var calls []printCall
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		var fn string
		switch x := call.Fun.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && id.Name == name {
				fn = x.Sel.Name
			}
		case *ast.Ident: // import . "fmt"
			if name == "." {
				fn = x.Name
			}
		}
		if fn == "Print" || fn == "Printf" || fn == "Println" {
			pos := fset.Position(call.Pos())
			calls = append(calls, printCall{file: pos.Filename, line: pos.Line, fn: fn})
		}
		return true
	})
	return calls, nil
}
