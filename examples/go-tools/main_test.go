package main

import (
	"context"
	"os"
	"testing"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/session"
)

func TestExampleAgent(t *testing.T) {
	cfg := config()
	if err := cfg.Validate(os.Getenv); err != nil {
		t.Fatal(err)
	}
	rt, err := agent.NewRuntime(cfg, agent.RuntimeOptions{Tools: []session.Tool{orderStatus}})
	if err != nil {
		t.Fatal(err)
	}
	var opts session.Options
	rt.Setup(&opts)
	if len(opts.Agent.Tools) != 2 || opts.Greeting == "" {
		t.Fatalf("agent %+v", opts.Agent)
	}
	out, err := orderStatus.Call(context.Background(), []byte(`{"order":" a-1001 "}`))
	if err != nil || out != "shipped yesterday" {
		t.Fatalf("order_status = %q, %v", out, err)
	}
	if _, err := orderStatus.Call(context.Background(), []byte(`{"order":"Z-9"}`)); err == nil {
		t.Fatal("unknown order found")
	}
}
