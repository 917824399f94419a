// Package layering checks the import rules of docs/ARCHITECTURE.md and the habits of
// STYLE.md that a compiler does not: it runs in `go test ./...` and in .ci/run.
package layering

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/callagent/callagent"

// floors is the house's plan (docs/ARCHITECTURE.md, "Who imports whom"): a
// package imports only packages on lower floors, so no arrow runs back up and
// nothing on one floor depends on its neighbours. Every package under pkg/ has a
// floor; every package under internal/ is on the ground floor and imports no
// pkg/ package.
//
//	0  internal/*: shapes two packages need (jsonscan, wsconn, atomicfile, redact), test helpers
//	1  leaves: one protocol, format or outside service each; no other pkg/
//	2  the call and its record, a number's provisioning, beside the protocol twins
//	   (which must not depend on the session they test)
//	3  what joins a call to the world: the agent config, the server, the session test kit,
//	   the inspector (reads the record of calls)
//	4  a whole offline call
var floors = map[string]int{
	"pkg/callevent": 1, "pkg/realtime": 1, "pkg/twiliotransport": 1, "pkg/audio": 1,
	"pkg/tunnel": 1, "pkg/twiliorest": 1, "pkg/live": 1, "pkg/pricing": 1, "pkg/sipcall": 1,
	"pkg/session": 2, "pkg/calllog": 2, "pkg/provision": 2, "pkg/livebridge": 2, "pkg/telemetry": 2,
	"pkg/realtime/realtimetest": 2, "pkg/live/livetest": 2, "pkg/twiliotransport/twiliotest": 2, "pkg/twiliorest/twiliorestest": 2,
	"pkg/agent": 3, "pkg/server": 3, "pkg/session/sessiontest": 3, "pkg/inspector": 3, "pkg/loadtest": 3,
	"pkg/offlinecall": 4,
}

// twins are the simulated peers: they may not link the session they are used to
// test, or a test of the session would be checking the session against itself.
var twins = []string{"pkg/realtime/realtimetest", "pkg/live/livetest", "pkg/twiliotransport/twiliotest", "pkg/twiliorest/twiliorestest"}

// notLinked are modules a package must not depend on, even indirectly, with why.
var notLinked = map[string]map[string]string{
	"pkg/session": {
		"github.com/twilio/twilio-go": "Twilio's REST API belongs to pkg/twiliorest; a call only needs Media Streams",
	},
	"pkg/twiliotransport": {
		"github.com/twilio/twilio-go": "it is Media Streams only; Twilio's REST API belongs to pkg/twiliorest",
	},
}

// floor returns the floor of a package of the module, and whether it has one.
func floor(rel string) (int, bool) {
	if strings.HasPrefix(rel, "internal/") {
		return 0, true
	}
	f, ok := floors[rel]
	return f, ok
}

// forbidden outside cmd/ and main: the command line and the terminal.
var forbidden = []string{
	module + "/cmd",
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
	"charm.land/lipgloss",
	"github.com/charmbracelet/lipgloss",
}

type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	Deps       []string
	GoFiles    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "-deps=false", module+"/pkg/...", module+"/internal/...")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	// Deps is filled by go list for each package listed.
	return pkgs
}

func TestLayering(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 4 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	listed := map[string]bool{}
	for _, p := range pkgs {
		listed[strings.TrimPrefix(p.ImportPath, module+"/")] = true
	}
	for rel := range notLinked {
		if !listed[rel] {
			t.Errorf("%s has a rule but go list did not find it: update the rule", rel)
		}
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		for _, dep := range p.Deps {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s: only cmd/ may use the command line and terminal packages", rel, dep)
				}
			}
		}
		for _, problem := range checkFloors(rel, p.Imports) {
			t.Error(problem)
		}
		if slices.Contains(twins, rel) {
			for _, dep := range p.Deps {
				if dep == module+"/pkg/session" {
					t.Errorf("%s is a protocol twin but depends on pkg/session: a twin must not link what it tests", rel)
				}
			}
		}
		for mod, why := range notLinked[rel] {
			for _, dep := range p.Deps {
				if dep == mod || strings.HasPrefix(dep, mod+"/") {
					t.Errorf("%s depends on %s: %s", rel, dep, why)
				}
			}
		}
	}
}

// checkFloors returns a sentence for each import of rel that does not go down the
// house.
func checkFloors(rel string, imports []string) []string {
	own, ok := floor(rel)
	if !ok {
		return []string{rel + " has no floor: place it in floors (internal/layering) and in docs/ARCHITECTURE.md"}
	}
	var problems []string
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, imp := range imports {
		dep, mine := strings.CutPrefix(imp, module+"/")
		if !mine {
			continue
		}
		switch f, ok := floor(dep); {
		case !ok:
			errorf("%s imports %s, which has no floor", rel, dep)
		case own == 0 && strings.HasPrefix(dep, "pkg/"):
			errorf("%s imports %s: internal/ is the ground floor and imports no pkg/ package", rel, dep)
		case own == 1 && f == 1:
			errorf("%s is a leaf but imports %s: move the shared shape to its own small package", rel, dep)
		case f >= own:
			errorf("%s (floor %d) imports %s (floor %d): imports go down the house, never across or up", rel, own, dep, f)
		}
	}
	return problems
}

// The rules above catch what they should: each of these imports is refused.
func TestLayeringRefusesWrongImports(t *testing.T) {
	for _, tc := range []struct{ pkg, imp, want string }{
		{"internal/wsconn", "pkg/realtime", "ground floor"},
		{"pkg/realtime", "pkg/callevent", "is a leaf"},
		{"pkg/callevent", "pkg/session", "never across or up"},
		{"pkg/session", "pkg/calllog", "never across or up"},
		{"pkg/realtime/realtimetest", "pkg/session", "never across or up"},
		{"pkg/session", "pkg/server", "never across or up"},
		{"pkg/server", "pkg/offlinecall", "never across or up"},
		{"pkg/server", "pkg/nosuch", "has no floor"},
	} {
		got := checkFloors(tc.pkg, []string{module + "/" + tc.imp})
		if len(got) != 1 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%s importing %s: got %q, want one error with %q", tc.pkg, tc.imp, got, tc.want)
		}
	}
	if got := checkFloors("pkg/server", []string{module + "/pkg/session", module + "/internal/wsconn", "net/http"}); len(got) > 0 {
		t.Errorf("good imports refused: %q", got)
	}
}

// TestLibrariesDoNotExitOrPrint: nothing under pkg/ or internal/ calls os.Exit,
// log.Fatal, panic or writes to stdout; errors are returned and output goes to the
// writers and loggers the caller injects.
func TestLibrariesDoNotExitOrPrint(t *testing.T) {
	banned := map[string]string{
		"os.Exit": "return an error", "log.Fatal": "return an error", "log.Fatalf": "return an error",
		"log.Fatalln": "return an error", "log.Print": "use the injected *slog.Logger", "log.Printf": "use the injected *slog.Logger",
		"log.Println": "use the injected *slog.Logger", "fmt.Print": "write to an injected io.Writer",
		"fmt.Printf": "write to an injected io.Writer", "fmt.Println": "write to an injected io.Writer",
		"os.Stdout": "write to an injected io.Writer",
	}
	for _, p := range listPackages(t) {
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "panic" {
						t.Errorf("%s: panic in library code: return an error", fset.Position(n.Pos()))
					}
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok {
						if fix, bad := banned[x.Name+"."+n.Sel.Name]; bad {
							t.Errorf("%s: %s.%s in library code: %s", fset.Position(n.Pos()), x.Name, n.Sel.Name, fix)
						}
					}
				}
				return true
			})
		}
	}
}
