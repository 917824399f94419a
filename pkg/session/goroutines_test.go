package session

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The package documentation is the one list of a call's goroutines. This test reads
// the package's source and fails when a goroutine is started (a go statement, a call
// of a method named Go, as on a sync.WaitGroup or an errgroup.Group, or a
// time.AfterFunc) that the list does not name, or when the list names one that is no
// longer started.
func TestPackageDocListsEveryGoroutine(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	started := map[string]bool{}
	var listed []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil && strings.Contains(f.Doc.Text(), "# Goroutines") {
			listed = append(listed, goroutineList(f.Doc.Text())...)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				var target ast.Expr
				switch n := n.(type) {
				case *ast.GoStmt:
					target = n.Call.Fun
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Go" && len(n.Args) == 1 {
						target = n.Args[0]
					}
					// time.AfterFunc runs its function on a goroutine of its own.
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "AfterFunc" && len(n.Args) == 2 {
						target = n.Args[1]
					}
				}
				if target != nil {
					started[goroutineName(target, fn.Name.Name)] = true
				}
				return true
			})
		}
	}
	if len(listed) == 0 {
		t.Fatal("no package doc with a # Goroutines list")
	}
	for name := range started {
		if !slices.Contains(listed, name) {
			t.Errorf("the package starts a goroutine running %s that its doc's list of goroutines does not name", name)
		}
	}
	for _, name := range listed {
		if !started[name] {
			t.Errorf("the package doc lists a goroutine running %s, which the package no longer starts", name)
		}
	}
}

// goroutineName names a started goroutine by the function it runs: a function or
// method value, or a closure that only calls one. Any other closure is named by the
// function that starts it.
func goroutineName(target ast.Expr, enclosing string) string {
	if lit, ok := target.(*ast.FuncLit); ok {
		if len(lit.Body.List) != 1 {
			return enclosing
		}
		stmt, ok := lit.Body.List[0].(*ast.ExprStmt)
		if !ok {
			return enclosing
		}
		call, ok := stmt.X.(*ast.CallExpr)
		if !ok {
			return enclosing
		}
		target = call.Fun
	}
	switch t := target.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return enclosing
}

var listItem = regexp.MustCompile(`^ {2}- [^(]*\(([\w.]+)\)`)

// goroutineList returns the names in parentheses at the start of each item of the
// list under the doc's # Goroutines heading (the last part of a dotted name).
func goroutineList(doc string) []string {
	_, section, _ := strings.Cut(doc, "# Goroutines\n")
	section, _, _ = strings.Cut(section, "\n# ")
	var names []string
	for line := range strings.Lines(section) {
		if m := listItem.FindStringSubmatch(line); m != nil {
			name := m[1]
			names = append(names, name[strings.LastIndex(name, ".")+1:])
		}
	}
	return names
}
