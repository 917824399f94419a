package cmd

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

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
// `go build` without flags, what the Go toolchain recorded.
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// String is the one-line form: "callagent 1.2.3 (abc1234, 2026-11-23) go1.26 linux/amd64".
func (b BuildInfo) String() string {
	s := "callagent " + b.Version
	meta := ""
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if b.Modified {
			c += "+dirty"
		}
		meta = c
	}
	if b.Date != "" {
		if meta != "" {
			meta += ", "
		}
		meta += b.Date
	}
	if meta != "" {
		s += " (" + meta + ")"
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
