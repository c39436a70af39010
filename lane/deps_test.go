package lane_test

// This file enforces the import rules of the architecture (architecture.md
// §4.2, house rules 1 and 2) over the whole module. It lives in lane because
// lane is the package every other one depends on; it uses only the standard
// library and the go command.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pkgDeps is one package of the build graph: its import path and the
// packages its non-test files import directly.
type pkgDeps struct {
	Path    string
	Imports []string
}

// Rule names, as reported in violations.
const (
	ruleLaneStdlib = "lane-stdlib-only"
	ruleSiblings   = "no-sibling-imports"
	ruleFyne       = "fyne-only-in-ui"
	ruleTestDouble = "test-doubles-in-tests"
	ruleTesting    = "no-testing-in-production"
)

// violation is one broken rule: package Pkg imports Dep, directly or, when
// Via is set, through the chain of imports in Via.
type violation struct {
	Rule   string
	Pkg    string // import path relative to the module, as "ui/xwidget"
	Dep    string // the forbidden package (import path as written)
	Via    []string
	Reason string
}

func (v violation) String() string {
	how := "imports"
	if len(v.Via) > 0 {
		how = "depends on"
	}
	s := fmt.Sprintf("%s %s %s", v.Pkg, how, v.Dep)
	if len(v.Via) > 0 {
		s += " (via " + strings.Join(v.Via, " → ") + ")"
	}
	return fmt.Sprintf("%s: %s [%s]", s, v.Reason, v.Rule)
}

// siblings are the adapter and UI trees that may import lane but never each
// other.
var siblings = []string{"ui", "devices", "localdb", "syncclient"}

// fyneAllowed are the trees that may depend on Fyne.
var fyneAllowed = []string{"ui", "assets", "cmd"}

// testDoubleUsers are the trees whose production code may import test-double
// packages: the instrument simulator replays them on purpose.
var testDoubleUsers = []string{"cmd/devsim"}

// checkDeps applies the import rules to pkgs, the build graph of the module
// whose path is module (all packages, including the standard library and
// other modules, so that indirect dependencies can be followed). It returns
// the violations sorted by package.
//
// The rules:
//
//  1. lane and lane/... import only the standard library and lane/....
//  2. ui, devices, localdb and syncclient (with their subpackages) never
//     import one another: the consumer declares an interface and cmd wires
//     the implementation in.
//  3. Only ui/..., assets/... and cmd/... depend on fyne.io/..., directly or
//     through other modules.
//  4. Test-double packages (a last path element ending in "test", such as
//     lane/lanetest or devices/devicetest) are imported only by _test.go
//     files, other test-double packages and cmd/devsim.
//  5. Production code does not depend on package testing, directly or
//     through other modules; test-double packages are exempt (rule 4 keeps
//     them out of production).
func checkDeps(module string, pkgs []pkgDeps) []violation {
	graph := make(map[string][]string, len(pkgs))
	for _, p := range pkgs {
		graph[p.Path] = p.Imports
	}
	rel := func(path string) (string, bool) {
		if path == module {
			return ".", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}

	var out []violation
	for _, p := range pkgs {
		pkg, ours := rel(p.Path)
		if !ours {
			continue
		}
		add := func(rule, dep string, via []string, reason string) {
			out = append(out, violation{Rule: rule, Pkg: pkg, Dep: dep, Via: via, Reason: reason})
		}

		for _, imp := range p.Imports {
			dep, depOurs := rel(imp)

			// Rule 1.
			if within(pkg, "lane") && !isStd(imp) && !(depOurs && within(dep, "lane")) {
				add(ruleLaneStdlib, imp, nil, "lane is the domain and imports only the standard library and lane/...; "+
					"declare an interface in lane and implement it outside")
			}

			// Rule 2.
			if depOurs {
				from, to := treeOf(pkg, siblings), treeOf(dep, siblings)
				if from != "" && to != "" && from != to {
					add(ruleSiblings, imp, nil, fmt.Sprintf("%s must not import %s: siblings meet only through lane "+
						"interfaces, wired together in cmd", from, to))
				}
			}

			// Rule 4.
			if depOurs && isTestDouble(dep) && !isTestDouble(pkg) && treeOf(pkg, testDoubleUsers) == "" {
				add(ruleTestDouble, imp, nil, dep+" is a test double: import it only from _test.go files (or cmd/devsim)")
			}
		}

		// Rule 3.
		if treeOf(pkg, fyneAllowed) == "" {
			if dep, via := findDep(graph, p.Path, func(path string) bool { return within(path, "fyne.io") }, nil); dep != "" {
				add(ruleFyne, dep, trim(via, module), "only ui, assets and cmd may depend on Fyne; "+
					"keep widgets in ui and pass plain values across")
			}
		}

		// Rule 5.
		if !isTestDouble(pkg) {
			skip := func(path string) bool { r, ok := rel(path); return ok && isTestDouble(r) }
			if dep, via := findDep(graph, p.Path, func(path string) bool { return path == "testing" }, skip); dep != "" {
				add(ruleTesting, dep, trim(via, module), `production code must not depend on package testing `+
					`(it registers test flags and links test machinery into the binary); move the code to a _test.go file`)
			}
		}
	}
	slices.SortFunc(out, func(a, b violation) int {
		return strings.Compare(a.Pkg+" "+a.Rule+" "+a.Dep, b.Pkg+" "+b.Rule+" "+b.Dep)
	})
	return out
}

// findDep searches the dependencies of from, breadth first, for a package
// that satisfies match, without entering packages for which skip is true.
// It returns the package found and the chain of packages between from and
// it (empty for a direct import), or "" if there is none.
func findDep(graph map[string][]string, from string, match, skip func(string) bool) (string, []string) {
	parent := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, imp := range graph[cur] {
			if _, seen := parent[imp]; seen || (skip != nil && skip(imp)) {
				continue
			}
			parent[imp] = cur
			if match(imp) {
				var via []string
				for p := cur; p != from; p = parent[p] {
					via = append(via, p)
				}
				slices.Reverse(via)
				return imp, via
			}
			queue = append(queue, imp)
		}
	}
	return "", nil
}

// trim shortens the module's own paths in via to module-relative ones.
func trim(via []string, module string) []string {
	for i, p := range via {
		via[i] = strings.TrimPrefix(p, module+"/")
	}
	return via
}

// within reports whether path is root or below it.
func within(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+"/")
}

// treeOf returns the root in roots that path is within, or "".
func treeOf(path string, roots []string) string {
	for _, r := range roots {
		if within(path, r) {
			return r
		}
	}
	return ""
}

// isStd reports whether an import path belongs to the standard library: its
// first element has no dot. "C" (cgo) is not the standard library.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return path != "C" && !strings.Contains(first, ".")
}

// isTestDouble reports whether a module-relative package path names a
// test-double package, by the naming convention <pkg>test (lanetest,
// devicetest, synctest).
func isTestDouble(rel string) bool {
	last := rel[strings.LastIndex(rel, "/")+1:]
	return strings.HasSuffix(last, "test") && last != "test"
}

// moduleRoot returns the directory holding go.mod above the working
// directory, and the module path it declares.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(rest), `"`)
				}
			}
			t.Fatalf("%s/go.mod declares no module", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// loadGraph runs `go list -deps` over the whole module and returns every
// package of the build graph with its direct imports.
func loadGraph(t *testing.T, root string) []pkgDeps {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	cmd := exec.Command(goTool, "list", "-e", "-deps", "-json=ImportPath,Imports", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v\n%s", err, exit.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkgDeps
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, pkgDeps{Path: p.ImportPath, Imports: p.Imports})
	}
	return pkgs
}

// TestImportRules checks the module's real build graph against the rules.
func TestImportRules(t *testing.T) {
	root, module := moduleRoot(t)
	pkgs := loadGraph(t, root)
	ours := 0
	for _, p := range pkgs {
		if within(p.Path, module) {
			ours++
		}
	}
	if ours == 0 {
		t.Fatalf("go list found no package of module %s", module)
	}
	t.Logf("checked %d packages of %s among %d in the build graph", ours, module, len(pkgs))
	for _, v := range checkDeps(module, pkgs) {
		t.Error(v)
	}
}

// TestCheckDepsCatchesEachRule checks the checker: a well-formed synthetic
// module passes, and each broken rule is reported for the right package.
func TestCheckDepsCatchesEachRule(t *testing.T) {
	const m = "example.com/app"
	// good is a module that follows every rule.
	good := []pkgDeps{
		{m + "/lane", []string{"context", "time", m + "/lane/internal/units"}},
		{m + "/lane/internal/units", []string{"math"}},
		{m + "/lane/lanetest", []string{"testing", m + "/lane"}},
		{m + "/devices", []string{m + "/lane", "go.bug.st/serial"}},
		{m + "/devices/devicetest", []string{m + "/lane/lanetest", m + "/devices"}},
		{m + "/localdb", []string{"database/sql", m + "/lane", "modernc.org/sqlite"}},
		{m + "/syncclient", []string{"net/http", m + "/lane"}},
		{m + "/ui", []string{"fyne.io/fyne/v2/widget", m + "/lane", m + "/assets"}},
		{m + "/assets", []string{"embed", "fyne.io/fyne/v2"}},
		{m + "/cmd/examlane", []string{m + "/ui", m + "/devices", m + "/localdb", m + "/syncclient", "fyne.io/fyne/v2/app"}},
		{m + "/cmd/devsim", []string{m + "/devices/devicetest", m + "/lane/lanetest"}},
		{"go.bug.st/serial", []string{"golang.org/x/sys/unix"}},
		{"golang.org/x/sys/unix", []string{"syscall"}},
		{"modernc.org/sqlite", []string{"database/sql"}},
		{"fyne.io/fyne/v2", []string{"image"}},
		{"fyne.io/fyne/v2/app", []string{"fyne.io/fyne/v2"}},
		{"fyne.io/fyne/v2/widget", []string{"fyne.io/fyne/v2"}},
		{"example.org/pulls-fyne", []string{"fyne.io/fyne/v2"}},
		{"example.org/pulls-testing", []string{"testing"}},
		{"testing", []string{"flag"}},
	}
	if got := checkDeps(m, good); len(got) != 0 {
		t.Fatalf("checkDeps(good module) = %v, want no violations", got)
	}

	tests := []struct {
		name string
		add  pkgDeps // added to the good module
		want []string
	}{
		{"lane imports another module",
			pkgDeps{m + "/lane/codec", []string{"golang.org/x/sys/unix"}},
			[]string{ruleLaneStdlib + " lane/codec golang.org/x/sys/unix"}},
		{"lane imports a sibling",
			pkgDeps{m + "/lane/store", []string{m + "/localdb"}},
			[]string{ruleLaneStdlib + " lane/store " + m + "/localdb"}},
		{"lane uses cgo",
			pkgDeps{m + "/lane/fast", []string{"C"}},
			[]string{ruleLaneStdlib + " lane/fast C"}},
		{"ui imports localdb",
			pkgDeps{m + "/ui/exam", []string{m + "/localdb"}},
			[]string{ruleSiblings + " ui/exam " + m + "/localdb"}},
		{"syncclient imports a devices subpackage",
			pkgDeps{m + "/syncclient/push", []string{m + "/devices/camera"}},
			[]string{ruleSiblings + " syncclient/push " + m + "/devices/camera"}},
		{"devices imports fyne",
			pkgDeps{m + "/devices/camera", []string{"fyne.io/fyne/v2"}},
			[]string{ruleFyne + " devices/camera fyne.io/fyne/v2"}},
		{"localdb depends on fyne through another module",
			pkgDeps{m + "/localdb/blob", []string{"example.org/pulls-fyne"}},
			[]string{ruleFyne + " localdb/blob fyne.io/fyne/v2 via example.org/pulls-fyne"}},
		{"lane imports fyne",
			pkgDeps{m + "/lane/view", []string{"fyne.io/fyne/v2"}},
			[]string{ruleFyne + " lane/view fyne.io/fyne/v2", ruleLaneStdlib + " lane/view fyne.io/fyne/v2"}},
		{"production code imports a test double",
			pkgDeps{m + "/cmd/examlane/wire", []string{m + "/lane/lanetest"}},
			[]string{ruleTestDouble + " cmd/examlane/wire " + m + "/lane/lanetest"}},
		{"production code imports testing",
			pkgDeps{m + "/localdb/check", []string{"testing"}},
			[]string{ruleTesting + " localdb/check testing"}},
		{"production code depends on testing through another module",
			pkgDeps{m + "/syncclient/retry", []string{"example.org/pulls-testing"}},
			[]string{ruleTesting + " syncclient/retry testing via example.org/pulls-testing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range checkDeps(m, append(slices.Clone(good), tt.add)) {
				s := v.Rule + " " + v.Pkg + " " + v.Dep
				if len(v.Via) > 0 {
					s += " via " + strings.Join(v.Via, " ")
				}
				if v.Reason == "" {
					t.Errorf("%s: no reason given", s)
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
		})
	}
}
