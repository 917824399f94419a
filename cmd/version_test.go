package cmd

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// A build from a git clone says which commit it is, and whether the tree was
// modified; a release's -ldflags win; a build that recorded nothing says how to get
// a version instead of a bare "dev" (issue 16 item 7).
func TestFaultVersionFromSourceBuild(t *testing.T) {
	clone := &debug.BuildInfo{Main: debug.Module{Path: "github.com/callagent/callagent", Version: "v0.0.0-20261129201926-1ed3c64c0bbe+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "1ed3c64c0bbe0123456789abcdef0123456789ab"},
			{Key: "vcs.time", Value: "2026-11-29T20:19:26Z"}, {Key: "vcs.modified", Value: "true"}}}
	tail := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name                  string
		info                  *debug.BuildInfo
		version, commit, date string
		want                  string
	}{
		{"go build in a clone", clone, "", "", "",
			"callagent v0.0.0-20261129201926-1ed3c64c0bbe+dirty (1ed3c64, modified, 2026-11-29T20:19:26Z)"},
		{"release", clone, "1.2.3", "0123456789abcdef", "2026-11-23T00:00:00Z",
			"callagent 1.2.3 (0123456789ab, 2026-11-23T00:00:00Z)"},
		{"go run", &debug.BuildInfo{Main: debug.Module{Path: "github.com/callagent/callagent", Version: "(devel)"}}, "", "", "",
			"callagent dev (no version recorded: go run, or a build without git; `go build` in a git clone records the commit)"},
	}
	for _, tt := range tests {
		got := buildInfoFrom(tt.info, tt.version, tt.commit, tt.date).String()
		if got != tt.want+tail {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want+tail)
		}
	}
}
