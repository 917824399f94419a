package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
)

// The error for a missing ${VAR} says to add it to .env: doing so, then saving
// callagent.yaml, loads the agents with its value (issue 16 item 6: the reload
// kept the .env read at start). A change of .env alone loads them again too.
func TestFaultReloadRereadsDotenv(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	cfgPath, envPath := filepath.Join(dir, "callagent.yaml"), filepath.Join(dir, ".env")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfgPath, "agents:\n  - name: desk\n    instructions: You answer for the shop.\n")
	env := &Env{Getenv: func(string) string { return "" }, Path: envPath}
	src := newAgentSource(cfgPath, env, agentOverrides{}, nil)
	if _, err := src.load(); err != nil {
		t.Fatal(err)
	}
	reloaded, failed := make(chan *loadedAgents, 8), make(chan error, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.watch(ctx, 5*time.Millisecond, func(la *loadedAgents) { reloaded <- la }, func(err error) { failed <- err })
	}()
	defer func() { cancel(); <-done }()
	wait := func() (*loadedAgents, error) {
		t.Helper()
		select {
		case la := <-reloaded:
			return la, nil
		case err := <-failed:
			return nil, err
		case <-time.After(5 * time.Second):
			t.Fatal("no reload")
			return nil, nil
		}
	}

	write(cfgPath, "agents:\n  - name: desk\n    instructions: You answer for the shop.\ntools:\n  - name: status\n    description: Order status.\n    http:\n      url: https://${SHOP_HOST}/status\n")
	if _, err := wait(); err == nil || !strings.Contains(err.Error(), "SHOP_HOST is not set: export it or add it to .env") {
		t.Fatalf("a missing variable: %v", err)
	}
	// As the error says: add it to .env, then save callagent.yaml.
	write(envPath, "SHOP_HOST=ada.example\n")
	write(cfgPath, "agents:\n  - name: desk\n    instructions: You answer for the shop.\ntools:\n  - name: status\n    description: Order status.\n    http:\n      url: https://${SHOP_HOST}/status\n    timeout: 5s\n")
	la, err := wait()
	if err != nil {
		t.Fatalf("after adding SHOP_HOST to .env: %v", err)
	}
	if got := la.cfg.Tools[0].HTTP.URL; got != "https://ada.example/status" {
		t.Fatalf("url %q", got)
	}
	// A change of .env alone is seen by the next load.
	write(envPath, "SHOP_HOST=bob.example\n")
	if la, err = wait(); err != nil || la.cfg.Tools[0].HTTP.URL != "https://bob.example/status" {
		t.Fatalf("after changing .env: %v", err)
	}
}
