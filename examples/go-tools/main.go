// Command go-tools is callagent used as a library: a phone agent built in Go whose
// tool is a Go function, served like `callagent serve`.
//
//	export OPENAI_API_KEY=sk-... TWILIO_AUTH_TOKEN=... CALLAGENT_PUBLIC_URL=https://calls.example.com
//	go run ./examples/go-tools
//
// Then point your Twilio number's voice webhook at $CALLAGENT_PUBLIC_URL/incoming-call.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/session"
)

// orders stands in for your database.
var orders = map[string]string{"A-1001": "shipped yesterday", "A-1002": "being packed"}

// orderStatus is the tool: the model's arguments arrive decoded into the struct.
var orderStatus = agent.Func("order_status", "Look up the status of an order by its number, like A-1001.",
	`{"type":"object","properties":{"order":{"type":"string"}},"required":["order"]}`,
	func(ctx context.Context, args struct{ Order string }) (string, error) {
		status, ok := orders[strings.ToUpper(strings.TrimSpace(args.Order))]
		if !ok {
			return "", fmt.Errorf("there is no order %q", args.Order)
		}
		return status, nil
	})

// config is the agent, as callagent.yaml would say it.
func config() *agent.Config {
	return &agent.Config{
		MaxCallDuration: agent.Duration(10 * time.Minute),
		Agents: []agent.AgentSpec{{
			Name:         "orders",
			Instructions: "You answer questions about orders for Acme. Be brief. Look orders up with order_status.",
			Greeting:     agent.Greeting{Enabled: true, Say: "Hi, this is Acme's order line. What's your order number?"},
		}},
		Tools: []agent.ToolSpec{
			{Name: "order_status"}, // the Go function above
			{Builtin: agent.BuiltinHangUp},
		},
	}
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(log); err != nil {
		log.Error("stopped", "error", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg := config()
	if err := cfg.Validate(os.Getenv); err != nil {
		return err
	}
	rt, err := agent.NewRuntime(cfg, agent.RuntimeOptions{Tools: []session.Tool{orderStatus}})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		PublicURL: os.Getenv("CALLAGENT_PUBLIC_URL"),
		AuthToken: os.Getenv("TWILIO_AUTH_TOKEN"),
		Dial:      server.RealtimeDialer(realtime.DialOptions{APIKey: os.Getenv("OPENAI_API_KEY"), Model: cfg.Model}),
		Session: func(call server.CallInfo, opts *session.Options) error {
			rt.Setup(opts)
			return nil
		},
		Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:5050")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("serving", "webhook", srv.PublicURL()+server.PathIncomingCall)
	return srv.Serve(ctx, ln, 30*time.Second)
}
