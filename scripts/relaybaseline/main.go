// Command relaybaseline runs internal/relaybaseline, the simplest Twilio ⇄ OpenAI
// Realtime relay, as a process of its own, so a load generator can measure its RSS and
// CPU per call beside `callagent serve` on the same calls:
//
//	go run ./scripts/relaybaseline -addr 127.0.0.1:5060 -openai-base-url http://127.0.0.1:5070/v1
//
// OPENAI_API_KEY is the bearer key. It is a yardstick, not part of the callagent
// binary: no signature checks, no logs, loopback by default.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/callagent/callagent/internal/relaybaseline"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5060", "address to listen on")
	base := flag.String("openai-base-url", "https://api.openai.com/v1", "OpenAI API base URL")
	public := flag.String("public-url", "", "URL Twilio reaches the relay at (default wss://Host)")
	model := flag.String("model", "gpt-realtime", "Realtime model")
	floor := flag.Bool("floor", false, "run the floor relay: the least work per frame a Go relay can do (a byte search, no JSON)")
	flag.Parse()
	handler := relaybaseline.Handler
	if *floor {
		handler = relaybaseline.FloorHandler
	}
	srv := &http.Server{
		Addr:              *addr,
		ReadHeaderTimeout: 10 * time.Second,
		Handler: handler(relaybaseline.Options{
			OpenAIBaseURL: *base, APIKey: os.Getenv("OPENAI_API_KEY"), Model: *model, PublicURL: *public,
		}),
	}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "relaybaseline:", err)
		os.Exit(1)
	}
}
