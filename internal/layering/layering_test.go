// Package layering checks the import rules of docs/ARCHITECTURE.md and the habits of
// STYLE.md that a compiler does not: it runs in `go test ./...` and in .ci/run.
package layering

import (
	"bytes"
	"encoding/json"
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

// leaves import no other package of pkg/: a shape two leaves need gets its own
// package (under internal/) instead.
var leaves = map[string]bool{
	"pkg/realtime": true, "pkg/twiliotransport": true, "pkg/audio": true,
	"pkg/tunnel": true, "pkg/twiliorest": true,
}

// onlyImports lists the packages of pkg/ a near-leaf may import, and nothing else
// of pkg/: provision does its REST through twiliorest.
var onlyImports = map[string][]string{
	"pkg/provision": {"pkg/twiliorest"},
}

// notLinked are modules a package must not depend on, even indirectly, with why.
var notLinked = map[string]map[string]string{
	"pkg/session": {
		"github.com/twilio/twilio-go": "Twilio's REST API belongs to pkg/twiliorest; a call only needs Media Streams",
	},
	"pkg/twiliotransport": {
		"github.com/twilio/twilio-go": "it is Media Streams only; Twilio's REST API belongs to pkg/twiliorest",
	},
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
		if leaves[rel] {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, module+"/pkg/") {
					t.Errorf("%s is a leaf but imports %s: move the shared shape to its own small package", rel, strings.TrimPrefix(imp, module+"/"))
				}
			}
		}
		if allowed, ok := onlyImports[rel]; ok {
			for _, imp := range p.Imports {
				if dep, mine := strings.CutPrefix(imp, module+"/"); mine && strings.HasPrefix(dep, "pkg/") && !slices.Contains(allowed, dep) {
					t.Errorf("%s imports %s: of pkg/ it may import only %s", rel, dep, strings.Join(allowed, ", "))
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
