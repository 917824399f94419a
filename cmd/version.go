package cmd

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set at build time by release builds:
//
//	-ldflags "-X github.com/callagent/callagent/cmd.version=1.2.3 -X ...cmd.commit=abc -X ...cmd.date=2026-11-23T00:00:00Z"
var (
	version = ""
	commit  = ""
	date    = ""
)

// BuildInfo says which build is running.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go"`
	Platform  string `json:"platform"`
}

// ReadBuildInfo returns the version set at build time or, for `go install` and
// `go build` from a git clone without flags, what the Go toolchain recorded.
func ReadBuildInfo() BuildInfo {
	info, _ := debug.ReadBuildInfo()
	return buildInfoFrom(info, version, commit, date)
}

// noVersion is the version of a build that recorded none: `go run`, or a build
// with -buildvcs=false or outside a git clone.
const noVersion = "dev"

// buildInfoFrom combines the release's -ldflags values, which win, with what the
// toolchain recorded in info (nil when nothing was): the module's version (a
// pseudo-version such as v0.0.0-20261129201926-1ed3c64c0bbe+dirty for a clone),
// vcs.revision, vcs.time and vcs.modified.
func buildInfoFrom(info *debug.BuildInfo, version, commit, date string) BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info != nil {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		ldCommit := b.Commit != ""
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if !ldCommit {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true" && !ldCommit
			}
		}
	}
	if b.Version == "" {
		b.Version = noVersion
	}
	return b
}

// String is the one-line form: "callagent 1.2.3 (abc1234, 2026-11-23) go1.26 linux/amd64",
// "callagent v0.0.0-20261129201926-1ed3c64c0bbe+dirty (1ed3c64, modified, 2026-11-29T20:19:26Z) …"
// from a clone's build; a build that recorded nothing says how to get a version.
func (b BuildInfo) String() string {
	s := "callagent " + b.Version
	var meta []string
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if b.Version != noVersion && len(c) > 7 && strings.Contains(b.Version, c) {
			c = c[:7] // the pseudo-version has it in full
		}
		meta = append(meta, c)
	}
	if b.Modified {
		meta = append(meta, "modified")
	}
	if b.Date != "" {
		meta = append(meta, b.Date)
	}
	if len(meta) == 0 && b.Version == noVersion {
		meta = append(meta, "no version recorded: go run, or a build without git; `go build` in a git clone records the commit")
	}
	if len(meta) > 0 {
		s += " (" + strings.Join(meta, ", ") + ")"
	}
	return s + " " + b.GoVersion + " " + b.Platform
}

type versionOptions struct {
	JSON bool
}

func newVersionCmd(f *Factory) *cobra.Command {
	opts := &versionOptions{}
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version of callagent",
		Example: `  callagent version
  callagent version --json | jq -r .version`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return versionRun(f, opts)
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print the build information as JSON")
	return c
}

func versionRun(f *Factory, opts *versionOptions) error {
	if opts.JSON {
		enc := json.NewEncoder(f.IO.Out)
		return enc.Encode(f.Build)
	}
	_, err := fmt.Fprintln(f.IO.Out, f.Build.String())
	return err
}
