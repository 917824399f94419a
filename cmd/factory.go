package cmd

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// IOStreams are the command's standard streams and what is known about them.
// stdout carries the product (transcripts, JSON); stderr carries status.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY and ErrTTY say whether the streams are terminals; they decide decoration,
	// never content.
	OutTTY, ErrTTY bool
	// Width, when set, tells the width of Out's terminal in cells (0: unknown).
	Width func() int
}

// OnBrokenPipe makes Out and ErrOut call broken, once, when a write finds that
// the stream's reader went away (EPIPE: callagent dev --json | head -1). The
// process notifies SIGPIPE, so such a write fails instead of killing it.
func (s *IOStreams) OnBrokenPipe(broken func()) {
	var once sync.Once
	call := func() { once.Do(broken) }
	s.Out = &pipeWatch{w: s.Out, broken: call}
	s.ErrOut = &pipeWatch{w: s.ErrOut, broken: call}
}

type pipeWatch struct {
	w      io.Writer
	broken func()
}

func (p *pipeWatch) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		p.broken()
	}
	return n, err
}

// Factory carries what commands need from the outside world, so tests can build one
// by hand with buffers and fakes.
type Factory struct {
	IO    *IOStreams
	Env   *Env
	Now   func() time.Time
	Build BuildInfo
	// HTTPClient, when set, carries the checks' requests (doctor, and dev's and
	// serve's at start): its Transport, so tests can trust a loopback TLS server.
	HTTPClient *http.Client
	// Self is how the user runs callagent, for the commands its output suggests:
	// "callagent", or "go run ." when the binary is go run's (the README's quick
	// start runs `go run . simulate`, and `callagent logs` would name a binary not
	// built). Empty means "callagent".
	Self string
}

// self is Self, "callagent" by default.
func (f *Factory) self() string {
	if f.Self == "" {
		return "callagent"
	}
	return f.Self
}

// selfCommand is how this process was started: "go run ." for a binary go run
// built (in its temporary go-build…/…/exe directory), else "callagent".
func selfCommand(exe string) string {
	exe = filepath.ToSlash(exe)
	if path.Base(path.Dir(exe)) == "exe" && strings.Contains(exe, "/go-build") {
		return "go run ."
	}
	return "callagent"
}

// NewFactory returns the Factory of the real process.
func NewFactory() *Factory {
	return &Factory{
		IO: &IOStreams{
			In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
			OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr),
			Width: func() int { return terminalWidth(os.Stdout) },
		},
		Env:   &Env{Getenv: os.Getenv},
		Now:   time.Now,
		Build: ReadBuildInfo(),
		Self:  selfFromExecutable(),
	}
}

func selfFromExecutable() string {
	exe, err := os.Executable()
	if err != nil {
		return "callagent"
	}
	return selfCommand(exe)
}

// isTerminal reports whether f is a character device (a terminal), without a
// dependency: good enough to decide on color and spinners.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
