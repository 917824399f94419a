package livebridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/live/livetest"
	"github.com/callagent/callagent/pkg/livebridge"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/session/sessiontest"
	"github.com/callagent/callagent/pkg/twiliotransport"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

const key = "sk-test-live-bridge-0123456789"

// liveCall is one call through the real session on the Live engine: a media
// stream endpoint running session.Session whose model leg is a livebridge.Leg
// dialing the Live twin, and a Twilio twin caller.
type liveCall struct {
	t      *testing.T
	ctx    context.Context
	Caller *twiliotest.Caller
	Model  *livetest.ModelConn

	mu     sync.Mutex
	events []callevent.Event
	ended  chan callevent.CallEnded
}

type callConfig struct {
	opts   func(*session.Options)
	bridge livebridge.Options
}

func startCall(t *testing.T, cfg callConfig) *liveCall {
	t.Helper()
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	model := &livetest.Model{APIKey: key}
	modelSrv := httptest.NewServer(model)
	c := &liveCall{t: t, ctx: ctx, ended: make(chan callevent.CallEnded, 1)}
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stream, err := twiliotransport.Accept(w, r, twiliotransport.StreamOptions{})
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		wg.Add(1)
		defer wg.Done()
		bo := cfg.bridge
		bo.Dial = live.DialOptions{BaseURL: modelSrv.URL + "/v1", APIKey: key}
		if bo.TurnGap == 0 {
			bo.TurnGap = 60 * time.Millisecond
		}
		opts := session.Options{
			Caller: stream,
			Dial: func(ctx context.Context) (session.ModelLeg, error) {
				return livebridge.Dial(ctx, bo)
			},
			OnEvent: func(ev callevent.Event) {
				c.mu.Lock()
				c.events = append(c.events, ev)
				c.mu.Unlock()
			},
			CallerIdleTimeout: -1,
			DTMFDebounce:      -1,
		}
		if cfg.opts != nil {
			cfg.opts(&opts)
		}
		s, err := session.New(opts)
		if err != nil {
			t.Errorf("session.New: %v", err)
			stream.CloseNow()
			return
		}
		c.ended <- s.Run(context.Background())
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
		model.Close()
		modelSrv.Close()
	})
	caller, err := twiliotest.DialCaller(ctx, twiliotest.CallerOptions{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/media-stream",
		FrameInterval: -1, Parameters: map[string]string{"From": "+15550001111"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(caller.Close)
	c.Caller = caller
	select {
	case c.Model = <-model.Accepted():
	case <-ctx.Done():
		t.Fatal("the bridge did not start a Live session")
	}
	return c
}

func (c *liveCall) Events() []callevent.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]callevent.Event(nil), c.events...)
}

func eventsOf[T callevent.Event](c *liveCall) []T {
	var out []T
	for _, ev := range c.Events() {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// waitFor waits until cond holds, checking whenever an event, the model or the
// caller changes (bounded by the call's context).
func (c *liveCall) waitFor(what string, cond func() bool) {
	c.t.Helper()
	for !cond() {
		select {
		case <-c.ctx.Done():
			c.t.Fatalf("waiting for %s: %v", what, c.ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (c *liveCall) Ended() callevent.CallEnded {
	c.t.Helper()
	select {
	case e := <-c.ended:
		return e
	case <-c.ctx.Done():
		c.t.Fatal("the call did not end")
		return callevent.CallEnded{}
	}
}

func weatherTool(calls *int) session.Tool {
	return session.NewTool(session.ToolSpec{Name: "get_weather", Description: "The weather in a city.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)},
		func(ctx context.Context, args json.RawMessage) (string, error) {
			*calls++
			var a struct{ City string }
			json.Unmarshal(args, &a)
			return "Sunny in " + a.City, nil
		})
}

func tone(n int) []byte { return sessiontest.Noise(7, n) }

// A whole call on the Live engine: the session starts the Live session with the
// agent (instructions, voice, pcmu 8000, the tools delegated to the backend), the
// greeting is asked for, caller audio reaches the model byte for byte, the agent's
// speech reaches the caller byte for byte with its transcript, a delegated tool call
// runs in callagent and its output continues the backend, key presses reach the
// model, and the caller's hang-up ends the call with nothing left running.
func TestLiveCallEndToEnd(t *testing.T) {
	calls := 0
	c := startCall(t, callConfig{opts: func(o *session.Options) {
		o.Agent = session.Agent{Name: "main", Instructions: "You are a weather line.", Voice: "marin", Tools: []session.Tool{weatherTool(&calls)}}
		o.Greeting = "Greet the caller."
	}, bridge: livebridge.Options{BackendModel: "gpt-5.5-mini"}})
	mc := c.Model
	cfg := mc.Config()
	if cfg.Model != live.DefaultModel || cfg.Instructions != "You are a weather line." || cfg.Audio == nil ||
		*cfg.Audio.Format != live.PCMU8000 || cfg.Audio.Output.Voice.Name != "marin" {
		t.Fatalf("session.start: %+v", cfg)
	}
	d := cfg.Delegation
	if d == nil || d.Type != live.DelegateResponses || d.Responses.Model != "gpt-5.5-mini" || len(d.Responses.Tools) != 1 ||
		d.Responses.Tools[0].Name != "get_weather" || !strings.Contains(string(d.Responses.Tools[0].Parameters), "city") {
		t.Fatalf("delegation: %+v", d)
	}
	// The greeting.
	ev, err := mc.WaitEvent(c.ctx, live.TypeInstructionsAppend, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.(*live.InstructionsAppend).Content; got != "Start the call now. Greet the caller." {
		t.Errorf("greeting: %q", got)
	}
	greeting := bytes.Repeat([]byte{0x55, 0xd5}, 800)
	if _, err := mc.Say(c.ctx, livetest.Speech{Text: "Hello, weather line.", Audio: greeting}); err != nil {
		t.Fatal(err)
	}
	if err := c.Caller.WaitReceived(c.ctx, len(greeting)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Caller.Received(), greeting) {
		t.Fatal("the caller did not receive the agent's audio byte for byte")
	}
	c.waitFor("the agent transcript", func() bool { return len(eventsOf[callevent.AgentTranscript](c)) == 1 })
	if got := eventsOf[callevent.AgentTranscript](c)[0].Text; got != "Hello, weather line." {
		t.Errorf("agent transcript %q", got)
	}
	// Caller audio, byte for byte (quiet, so the model does not stop for it).
	quiet := bytes.Repeat([]byte{twiliotest.Silence}, 1600)
	c.Caller.Say(quiet)
	if err := c.Caller.WaitSent(c.ctx); err != nil {
		t.Fatal(err)
	}
	if err := mc.WaitAudio(c.ctx, len(quiet)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mc.AudioIn(), c.Caller.Sent()) {
		t.Fatal("the model did not receive the caller's audio byte for byte")
	}
	// The caller's words, then a delegated tool call.
	if err := mc.Hear("Weather in Paris?"); err != nil {
		t.Fatal(err)
	}
	del, err := mc.Delegate("get_weather", `{"city":"Paris"}`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := del.Wait(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out != "Sunny in Paris" || calls != 1 {
		t.Errorf("tool output %q after %d calls", out, calls)
	}
	c.waitFor("the caller transcript", func() bool { return len(eventsOf[callevent.CallerTranscript](c)) == 1 })
	if got := eventsOf[callevent.CallerTranscript](c)[0].Text; got != "Weather in Paris?" {
		t.Errorf("caller transcript %q", got)
	}
	if r := eventsOf[callevent.ToolResult](c); len(r) != 1 || r[0].Output != "Sunny in Paris" {
		t.Errorf("tool results %+v", r)
	}
	// A key press reaches the model as silent context.
	if err := c.Caller.SendDTMF("5"); err != nil {
		t.Fatal(err)
	}
	ev, err = mc.WaitEvent(c.ctx, live.TypeThinkingAppend, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.(*live.ThinkingAppend).Content; !strings.Contains(got, "pressed 5") {
		t.Errorf("DTMF: %q", got)
	}
	c.Caller.Hangup()
	if e := c.Ended(); e.Reason != callevent.EndCallerHangup {
		t.Errorf("ended %s: %v", e.Reason, e.Err)
	}
	if errs := mc.ErrorsSent(); len(errs) > 0 {
		t.Errorf("the Live twin refused: %+v", errs)
	}
	if missing := mc.MissingEventIDs(); len(missing) > 0 {
		t.Errorf("events without event_id: %v", missing)
	}
}

// The model owns barge-in, but what it had sent faster than real time is still
// queued at Twilio when the caller speaks: the leg reports the caller's speech once
// the model stopped, and the session clears Twilio, so no stale agent audio plays
// after the model has stopped.
func TestFaultLiveBargeInClearsStaleAudio(t *testing.T) {
	c := startCall(t, callConfig{})
	mc := c.Model
	// Three seconds of speech, sent at once: Twilio plays it in real time.
	speech := bytes.Repeat([]byte{0x55, 0xd5}, 12000)
	if _, err := mc.Say(c.ctx, livetest.Speech{Text: "A long answer.", Audio: speech, Chunk: 800}); err != nil {
		t.Fatal(err)
	}
	if err := c.Caller.WaitReceived(c.ctx, len(speech)); err != nil {
		t.Fatal(err)
	}
	c.Caller.Say(tone(3200)) // the caller talks over it
	if err := c.Caller.WaitClears(c.ctx, 1); err != nil {
		t.Fatalf("no clear reached Twilio: stale agent audio plays on: %v", err)
	}
	cl := c.Caller.Clears()[0]
	if cl.Played >= cl.Queued {
		t.Errorf("the clear came after everything played: %+v", cl)
	}
	c.waitFor("the interruption", func() bool { return len(eventsOf[callevent.Interruption](c)) == 1 })
	if in := eventsOf[callevent.Interruption](c)[0]; !in.Cleared {
		t.Errorf("interruption %+v", in)
	}
	c.Caller.Hangup()
	c.Ended()
	if errs := mc.ErrorsSent(); len(errs) > 0 {
		t.Errorf("the Live twin refused (no cancel or truncate may reach it): %+v", errs)
	}
}

// The model stops by itself when the caller speaks over it mid-stream: the leg
// leaves the decision to it, then clears what was queued.
func TestLiveBargeInWhileStreaming(t *testing.T) {
	c := startCall(t, callConfig{})
	mc := c.Model
	speech := bytes.Repeat([]byte{0x55, 0xd5}, 40000)
	said := make(chan livetest.Said, 1)
	go func() {
		s, _ := mc.Say(c.ctx, livetest.Speech{Audio: speech, Chunk: 160, Pace: 2 * time.Millisecond})
		said <- s
	}()
	if err := c.Caller.WaitReceived(c.ctx, 3200); err != nil {
		t.Fatal(err)
	}
	c.Caller.Say(tone(4800))
	var s livetest.Said
	select {
	case s = <-said:
	case <-c.ctx.Done():
		t.Fatal("the model did not stop")
	}
	if !s.Interrupted {
		t.Fatal("the model was not interrupted")
	}
	if err := c.Caller.WaitClears(c.ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the cancelled response", func() bool {
		for _, d := range eventsOf[callevent.ResponseDone](c) {
			if d.Status == realtime.StatusCancelled {
				return true
			}
		}
		return false
	})
	c.Caller.Hangup()
	c.Ended()
}

// Every ending of the Live side ends the call like the Realtime one's: a dropped
// socket, a closed session.
func TestFaultLiveEndings(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(mc *livetest.ModelConn)
	}{
		{"drop", func(mc *livetest.ModelConn) { mc.Drop() }},
		{"session closed", func(mc *livetest.ModelConn) { mc.EndSession(live.ClosedExpired) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCall(t, callConfig{})
			tc.end(c.Model)
			if e := c.Ended(); e.Reason != callevent.EndModelDisconnected {
				t.Errorf("ended %s: %v", e.Reason, e.Err)
			}
			if err := c.Caller.WaitClosed(c.ctx); err != nil {
				t.Error(err)
			}
		})
	}
}

// A Live error reaches the call's events with its code; the call goes on. A
// session.start Live refuses ends the call as a refused session.update does.
func TestLiveErrors(t *testing.T) {
	c := startCall(t, callConfig{})
	c.Model.SendError("rate_limit_exceeded", "Slow down.")
	c.waitFor("the model error", func() bool { return len(eventsOf[callevent.ModelError](c)) == 1 })
	if e := eventsOf[callevent.ModelError](c)[0]; e.Code != "rate_limit_exceeded" || e.Message != "Slow down." {
		t.Errorf("model error %+v", e)
	}
	c.Caller.Hangup()
	c.Ended()
}

func TestFaultLiveRefusedStartEndsCall(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	model := &livetest.Model{APIKey: key, Unchecked: true}
	srv := httptest.NewServer(model)
	defer func() { srv.Close(); model.Close() }()
	leg, err := livebridge.Dial(ctx, livebridge.Options{Dial: live.DialOptions{BaseURL: srv.URL + "/v1", APIKey: key}, Model: "gpt-realtime"})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.CloseNow()
	if err := leg.Send(ctx, &realtime.SessionUpdate{Session: realtime.SessionConfig{Type: "realtime"}}); err != nil {
		t.Fatal(err)
	}
	ev, err := leg.ReadEvent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := ev.(*realtime.ErrorEvent)
	if !ok {
		t.Fatalf("got %T", ev)
	}
	if typ, _ := realtime.EventIDType(e.Error.EventID); typ != realtime.TypeSessionUpdate || e.Error.Code != "model_not_found" {
		t.Errorf("error %+v: the session would not know its session.update was refused", e.Error)
	}
}

// A Realtime event Live has no equivalent for is refused, not dropped.
func TestLiveRefusesUnmappedEvents(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	model := &livetest.Model{APIKey: key}
	srv := httptest.NewServer(model)
	defer func() { srv.Close(); model.Close() }()
	leg, err := livebridge.Dial(ctx, livebridge.Options{Dial: live.DialOptions{BaseURL: srv.URL + "/v1", APIKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.CloseNow()
	for _, ev := range []realtime.ClientEvent{&realtime.InputAudioBufferCommit{}, &realtime.ConversationItemDelete{ItemID: "x"},
		&realtime.ConversationItemCreate{Item: realtime.Item{Type: realtime.ItemMCPApprovalResponse, ApprovalRequestID: "a"}}} {
		if err := leg.Send(ctx, ev); !errors.Is(err, livebridge.ErrUnsupported) {
			t.Errorf("%s: %v", ev.EventType(), err)
		}
	}
}

// A handoff on Live: the voice and the conversation's instructions were fixed at
// startup, so the new agent's instructions are appended and the backend gets its
// instructions and tools (the previous agent's tools go).
func TestLiveHandoff(t *testing.T) {
	calls := 0
	billing := session.Agent{Name: "billing", Instructions: "You handle billing.", Voice: "cedar", Tools: []session.Tool{weatherTool(&calls)}}
	handoff := session.NewTool(session.ToolSpec{Name: "to_billing", Description: "Hand the caller to billing."},
		func(ctx context.Context, _ json.RawMessage) (string, error) {
			call, _ := session.CallFrom(ctx)
			return "You are now the billing agent.", call.SetAgent(billing)
		})
	c := startCall(t, callConfig{opts: func(o *session.Options) {
		o.Agent = session.Agent{Name: "front", Instructions: "You are the front desk.", Voice: "marin", Tools: []session.Tool{handoff}}
	}})
	mc := c.Model
	d, err := mc.Delegate("to_billing", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Wait(c.ctx); err != nil {
		t.Fatal(err)
	}
	ev, err := mc.WaitEvent(c.ctx, live.TypeSessionUpdate, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := ev.(*live.SessionUpdate).Session.Delegation.Responses
	if len(r.Tools) != 1 || r.Tools[0].Name != "get_weather" || !strings.Contains(r.Instructions, "You handle billing.") {
		t.Errorf("backend after the handoff: %+v", r)
	}
	found := false
	for _, ev := range mc.Received(live.TypeInstructionsAppend) {
		found = found || strings.Contains(ev.(*live.InstructionsAppend).Content, "You handle billing.")
	}
	if !found {
		t.Error("the new agent's instructions were not appended")
	}
	c.waitFor("the update confirmed", func() bool { return len(eventsOf[callevent.AgentChanged](c)) == 1 })
	// The backend now has the new agent's tool.
	if d, err = mc.Delegate("get_weather", `{"city":"Rome"}`); err != nil {
		t.Fatal(err)
	}
	if out, err := d.Wait(c.ctx); err != nil || out != "Sunny in Rome" {
		t.Errorf("after the handoff: %q %v", out, err)
	}
	if mc.Session().Audio.Output.Voice.Name != "marin" {
		t.Errorf("voice %+v", mc.Session().Audio.Output.Voice)
	}
	c.Caller.Hangup()
	c.Ended()
	if errs := mc.ErrorsSent(); len(errs) > 0 {
		t.Errorf("the Live twin refused: %+v", errs)
	}
}

// A guardrail on Live: the agent's transcript trips it, what the caller has not
// heard is cleared at Twilio, and the correction reaches the model as an
// instruction; nothing Live lacks (cancel, truncate) is sent to it.
func TestLiveGuardrail(t *testing.T) {
	c := startCall(t, callConfig{opts: func(o *session.Options) {
		o.Agent = session.Agent{Name: "main", Instructions: "Be careful.", Guardrail: func(text string) (string, bool) {
			return "no secrets", strings.Contains(text, "secret")
		}}
	}})
	mc := c.Model
	speech := bytes.Repeat([]byte{0x55, 0xd5}, 12000)
	if _, err := mc.Say(c.ctx, livetest.Speech{Text: "The secret code is 1234, and more words follow it.", Audio: speech, Chunk: 800}); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the guardrail", func() bool { return len(eventsOf[callevent.GuardrailTripped](c)) == 1 })
	if err := c.Caller.WaitClears(c.ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the correction", func() bool {
		for _, ev := range mc.Received(live.TypeInstructionsAppend) {
			if strings.Contains(ev.(*live.InstructionsAppend).Content, "broke a rule (no secrets)") {
				return true
			}
		}
		return false
	})
	c.Caller.Hangup()
	c.Ended()
	if errs := mc.ErrorsSent(); len(errs) > 0 {
		t.Errorf("the Live twin refused: %+v", errs)
	}
}

// A malformed Live event is skipped with a warning, as a malformed Realtime event
// is; the call goes on.
func TestLiveMalformedEvent(t *testing.T) {
	c := startCall(t, callConfig{})
	if err := c.Model.SendRaw([]byte(`{"type":"session.output_transcript.delta","event_id":"e1","delta":5}`)); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the warning", func() bool { return len(eventsOf[callevent.Warning](c)) == 1 })
	if _, err := c.Model.Say(c.ctx, livetest.Speech{Audio: bytes.Repeat([]byte{0x55}, 320)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Caller.WaitReceived(c.ctx, 320); err != nil {
		t.Fatal(err)
	}
	c.Caller.Hangup()
	if e := c.Ended(); e.Reason != callevent.EndCallerHangup {
		t.Errorf("ended %s", e.Reason)
	}
}

// The caller's words transcribed while agent audio is still queued at Twilio (the
// model had stopped sending) count as the caller speaking: Twilio is cleared.
func TestLiveTranscriptBargeIn(t *testing.T) {
	c := startCall(t, callConfig{})
	mc := c.Model
	speech := bytes.Repeat([]byte{0x55, 0xd5}, 12000)
	if _, err := mc.Say(c.ctx, livetest.Speech{Audio: speech, Chunk: 800}); err != nil {
		t.Fatal(err)
	}
	if err := c.Caller.WaitReceived(c.ctx, len(speech)); err != nil {
		t.Fatal(err)
	}
	// The model has stopped once no output came for the turn gap (60 ms here); the
	// turn stays open while its 3 s of audio play. Waiting is the scenario's
	// premise, not an assertion: any wait well inside the 3 s will do.
	time.Sleep(4 * 60 * time.Millisecond)
	if n := len(eventsOf[callevent.ResponseDone](c)); n != 0 {
		t.Fatalf("%d responses done while the answer's audio still plays", n)
	}
	if err := mc.Hear("Stop, please."); err != nil {
		t.Fatal(err)
	}
	if err := c.Caller.WaitClears(c.ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.Caller.Hangup()
	c.Ended()
}

// A stall of the model's stream longer than the turn gap but shorter than the
// audio already queued at Twilio (the network, a loaded machine) is not the end of
// the answer: the caller hears one turn, so the session sees one response with the
// whole transcript. Live has no end-of-turn event; the leg waits for the audio to
// play before it takes a pause for one.
func TestFaultLiveStallDoesNotSplitTurn(t *testing.T) {
	c := startCall(t, callConfig{})
	mc := c.Model
	half := bytes.Repeat([]byte{0x55, 0xd5}, 4000) // 1 s of audio
	if _, err := mc.Say(c.ctx, livetest.Speech{Text: "The weather in", Audio: half, Chunk: 800}); err != nil {
		t.Fatal(err)
	}
	// The stall is the scenario: four turn gaps (60 ms here) with no output, well
	// inside the second of audio queued.
	time.Sleep(4 * 60 * time.Millisecond)
	if _, err := mc.Say(c.ctx, livetest.Speech{Text: " Oslo is sunny.", Audio: half, Chunk: 800}); err != nil {
		t.Fatal(err)
	}
	if err := c.Caller.WaitReceived(c.ctx, 2*len(half)); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the turn's end", func() bool { return len(eventsOf[callevent.ResponseDone](c)) >= 1 })
	c.Caller.Hangup()
	c.Ended()
	var texts []string
	for _, e := range eventsOf[callevent.AgentTranscript](c) {
		texts = append(texts, e.Text)
	}
	if n := len(eventsOf[callevent.ResponseDone](c)); n != 1 || len(texts) != 1 || texts[0] != "The weather in Oslo is sunny." {
		t.Fatalf("%d responses, transcripts %q: one answer split by a stall", n, texts)
	}
}
