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

// The quick start builds the callagent it (and simulate's own output) names, and
// the install commands are ones that work before the module is published
// (issue 16 item 7).
func TestFaultReadmeQuickStartBuildsTheBinary(t *testing.T) {
	built := false
	for _, l := range commandLines(readmeSection(t, "Quick start")) {
		if l == "go install ." || strings.HasPrefix(l, "go build -o callagent .") {
			built = true
		}
		if strings.HasPrefix(l, "callagent ") && !built {
			t.Errorf("the quick start runs %q before building callagent", l)
		}
		if strings.HasPrefix(l, "go run . ") {
			t.Errorf("the quick start runs %q: its output names callagent, which it never built", l)
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
