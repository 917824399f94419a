package main

import (
	"os"
	"strings"
	"testing"
)

// readmeSection is the text of the README's "## title" section.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README has no section %q", title)
	}
	section, _, _ := strings.Cut(rest, "\n## ")
	return section
}

// commandLines are the lines of a section's sh code blocks, comments cut.
func commandLines(section string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in:
			l, _, _ = strings.Cut(l, "#")
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

// The quick start's first command runs the whole offline call with nothing but
// Go (go run . simulate), and callagent is built before any line names it; the
// install commands are ones that work before the module is published (issue 16
// item 7; simulate's hints under go run say go run ., TestSelfCommand).
func TestFaultReadmeQuickStartBuildsTheBinary(t *testing.T) {
	lines := commandLines(readmeSection(t, "Quick start"))
	if len(lines) == 0 || lines[0] != "go run . simulate" {
		t.Errorf("the quick start's first command is %q, want go run . simulate (works on a fresh machine, nothing on PATH)", lines)
	}
	built := false
	for _, l := range lines {
		if l == "go install ." || strings.HasPrefix(l, "go build -o callagent .") {
			built = true
		}
		if (strings.HasPrefix(l, "callagent ") || strings.HasPrefix(l, "./callagent ")) && !built {
			t.Errorf("the quick start runs %q before building callagent", l)
		}
	}
	if !built {
		t.Error("the quick start never builds callagent (go install . or go build -o callagent .)")
	}
	for _, l := range commandLines(readmeSection(t, "Install")) {
		if strings.Contains(l, "@latest") {
			t.Errorf("an install command that cannot work until the module is published: %q", l)
		}
	}
}
