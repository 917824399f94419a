package relaybaseline_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/relaybaseline"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// The baseline relays audio both ways between the twins, clears Twilio's queue when
// the model hears speech, and closes the model socket when the caller hangs up.
func TestRelaysBothWays(t *testing.T) {
	testRelaysBothWays(t, relaybaseline.Handler)
}

// The floor relay does the same job with a byte search per frame.
func TestFloorRelaysBothWays(t *testing.T) {
	testRelaysBothWays(t, relaybaseline.FloorHandler)
}

func testRelaysBothWays(t *testing.T, handler func(relaybaseline.Options) http.Handler) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	model := &realtimetest.Model{APIKey: "sk-test"}
	ms := httptest.NewServer(model)
	defer ms.Close()
	defer model.Close()
	relay := httptest.NewServer(nil)
	relay.Config.Handler = handler(relaybaseline.Options{
		OpenAIBaseURL: ms.URL + "/v1", APIKey: "sk-test", PublicURL: relay.URL,
	})
	defer relay.Close()

	caller, err := twiliotest.PlaceCall(ctx, twiliotest.CallOptions{
		Webhook: relay.URL + "/incoming-call", AuthToken: "unused", CallSID: "CA1",
		AllowInsecureStream: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	var mc *realtimetest.ModelConn
	select {
	case mc = <-model.Accepted():
	case <-ctx.Done():
		t.Fatal("the relay never dialed the model")
	}
	if _, err := mc.WaitEvent(ctx, "session.update", 1); err != nil {
		t.Fatal(err)
	}
	if err := mc.WaitFor(ctx, "the update applied", func() bool { return mc.Session().Audio != nil }); err != nil {
		t.Fatal(err)
	}
	if got := mc.Session().Audio.Input.Format.Type; got != "audio/pcmu" {
		t.Fatalf("input format %q, want audio/pcmu", got)
	}

	said := bytes.Repeat([]byte{1, 2, 3, 4, 5}, 320) // 1600 bytes, 200 ms
	caller.Say(said)
	if err := mc.WaitFor(ctx, "caller audio", func() bool { return bytes.Contains(mc.AudioIn(), said) }); err != nil {
		t.Fatal(err)
	}

	answer := bytes.Repeat([]byte{9, 8, 7, 6}, 400) // 1600 bytes
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: answer}}, ChunkBytes: 400})
	if err := caller.WaitReceived(ctx, len(answer)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(caller.Received(), answer) {
		t.Fatal("agent audio differs")
	}

	mc.SpeechStarted()
	if err := caller.WaitClears(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// A tool call: the relay answers it and asks for the response that says it.
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{
		CallID: "call_1", Name: "weather", Arguments: `{"city":"Paris"}`}}}})
	if _, err := mc.WaitEvent(ctx, "response.create", 1); err != nil {
		t.Fatal(err)
	}
	if out := mc.CreatedItems(); len(out) != 1 || out[0].CallID != "call_1" || out[0].Type != "function_call_output" {
		t.Fatalf("items created: %+v, want the output of call_1", out)
	}

	if err := caller.Hangup(); err != nil {
		t.Fatal(err)
	}
	if err := mc.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
}
