package cmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/telemetry"
)

// loadedAgents is one loading of the agent configuration.
type loadedAgents struct {
	cfg  *agent.Config
	rt   *agent.Runtime
	from string // the file, or "the built-in agent"
}

// agentSource loads the agents dev and serve run (with the command line's
// overrides) and, in dev, reloads them when their file changes: the next call gets
// the new agents, calls in progress keep theirs. A file with problems is reported
// and the previous agents stay.
type agentSource struct {
	path     string // the file watched: --config, or callagent.yaml (which may appear later)
	explicit bool   // --config was given: the file must exist
	env      *Env
	over     agentOverrides
	approver session.Approver
	tracer   *telemetry.Tracer // set before load: HTTP tools' traceparent, Twilio REST spans

	cur  atomic.Pointer[loadedAgents]
	hash [32]byte // of the content loaded; zero when none

	sip    bool // the transport of the first load: a reload cannot change it
	loaded bool
}

func newAgentSource(path string, env *Env, over agentOverrides, approver session.Approver) *agentSource {
	s := &agentSource{path: path, explicit: path != "", env: env, over: over, approver: approver}
	if s.path == "" {
		s.path = agent.DefaultFile
	}
	return s
}

// load reads the configuration for the first time.
func (s *agentSource) load() (*loadedAgents, error) {
	data, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !s.explicit:
		data = nil
	case errors.Is(err, fs.ErrNotExist):
		_, err = agent.Load(s.path, s.env.Get) // its message says what to do
		return nil, &UsageError{Err: err}
	case err != nil:
		return nil, &UsageError{Err: err}
	}
	la, err := s.build(data)
	if err != nil {
		return nil, err
	}
	s.sip, s.loaded = la.cfg.SIP(), true
	s.cur.Store(la)
	if data != nil {
		s.hash = sha256.Sum256(data)
	}
	return la, nil
}

func (s *agentSource) build(data []byte) (*loadedAgents, error) {
	var cfg *agent.Config
	from := "the built-in agent"
	if data == nil {
		cfg = agent.Default()
	} else {
		c, err := agent.Parse(s.path, data, s.env.Get)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		cfg, from = c, s.path
	}
	s.over.applyTo(cfg)
	if s.over.modelSet || s.over.SIP {
		// The options of callagent.yaml that depend on the model, checked again.
		if err := cfg.CheckModel(); err != nil {
			return nil, &UsageError{Err: fmt.Errorf("with --model %s: %w", cfg.Model, err)}
		}
	}
	if s.loaded && cfg.SIP() != s.sip {
		return nil, &UsageError{Err: fmt.Errorf("%s: transport changed: the server runs with the transport it started with; restart to switch", s.path)}
	}
	rt, err := newRuntime(cfg, s.env, s.approver, s.tracer)
	if err != nil {
		return nil, err
	}
	return &loadedAgents{cfg: cfg, rt: rt, from: from}, nil
}

// current returns the agents for a new call.
func (s *agentSource) current() *loadedAgents { return s.cur.Load() }

// watch polls the file every interval until ctx ends; a change of content is
// loaded and reported to onReload, a failed load to onError (the previous agents
// stay). Polling needs no dependency and sees editors' atomic renames.
func (s *agentSource) watch(ctx context.Context, interval time.Duration, onReload func(*loadedAgents), onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var failed [32]byte // content that failed, reported once
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		envChanged := s.env.Reload()
		if envChanged {
			if err := s.env.Err(); err != nil {
				onError(err)
			}
		}
		data, err := os.ReadFile(s.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed, or never there: keep what runs
		}
		if err != nil {
			continue
		}
		sum := sha256.Sum256(data)
		if len(bytes.TrimSpace(data)) == 0 {
			continue // an editor's truncate-then-write
		}
		if !envChanged && (sum == s.hash || sum == failed) {
			continue // unchanged, or already reported
		}
		la, err := s.build(data)
		if err != nil {
			failed = sum
			onError(err)
			continue
		}
		s.cur.Store(la)
		s.hash = sum
		onReload(la)
	}
}
