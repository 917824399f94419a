package livebridge_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/live/livetest"
	"github.com/callagent/callagent/pkg/livebridge"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/sipcall"
)

const sipSecret = "whsec_c2lwLWxpdmUtYnJpZGdlLXRlc3Qtc2VjcmV0"

// A GPT-Live SIP call's attach socket as a leg: accepted with the translated
// session, no audio either way (the model's reported once per turn, as an empty
// delta between output_audio_buffer.started and stopped), key presses as the
// Realtime sideband's, and the caller's hang-up as a normal close.
func TestSIPAttachLeg(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	model := &livetest.Model{APIKey: key}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()
	defer model.Close()
	app := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer app.Close()

	call, err := model.RingSIP(ctx, livetest.SIPRing{WebhookURL: app.URL, Secret: sipSecret, HTTPClient: app.Client()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := realtime.SessionConfig{Model: "gpt-live-1", Instructions: "Be kind.",
		Tools: []realtime.Tool{{Type: "function", Name: "weather", Description: "The weather."}}}
	opts := livebridge.Options{Dial: live.DialOptions{BaseURL: modelSrv.URL + "/v1", APIKey: key}}
	acc, err := livebridge.AcceptSession(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Type != "live" || acc.Model != "gpt-live-1" || acc.Audio != nil || acc.Delegation == nil ||
		acc.Delegation.Responses.Model != livebridge.DefaultBackendModel || len(acc.Delegation.Responses.Tools) != 1 {
		t.Fatalf("accept session %+v", acc)
	}
	control := sipcall.NewClient(modelSrv.URL+"/v1", key, modelSrv.Client())
	if err := control.Accept(ctx, sipcall.EngineLive, call.ID(), acc); err != nil {
		t.Fatal(err)
	}
	leg, err := livebridge.Attach(ctx, opts, call.ID(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer leg.CloseNow()
	mc, err := call.Sideband(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := leg.ReadEvent(ctx); err != nil || ev.EventType() != realtime.TypeSessionUpdated {
		t.Fatalf("first event %v, %v", ev, err)
	}
	if err := leg.AppendAudio(ctx, []byte("/w==")); !errors.Is(err, livebridge.ErrSIPAudio) {
		t.Fatalf("audio append: %v", err)
	}
	// A guardrail trip's clear: the attach socket has no such event (the twin
	// would answer it with an error), so the leg takes it and sends nothing.
	if err := leg.Send(ctx, &realtime.OutputAudioBufferClear{}); err != nil {
		t.Fatalf("output_audio_buffer.clear on a SIP leg: %v", err)
	}

	if _, err := mc.Say(ctx, livetest.Speech{Text: "Hello there.", Audio: make([]byte, 960), Chunk: 160}); err != nil {
		t.Fatal(err)
	}
	var types []string
	deltas := 0
	for !strings.HasSuffix(strings.Join(types, " "), "output_audio_buffer.stopped") {
		ev, err := leg.ReadEvent(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", types, err)
		}
		if d, ok := ev.(*realtime.ResponseOutputAudioDelta); ok {
			deltas++
			if len(d.Delta) != 0 {
				t.Fatal("audio relayed from the attach socket")
			}
		}
		types = append(types, ev.EventType())
	}
	if deltas != 1 || !strings.Contains(strings.Join(types, " "), "output_audio_buffer.started") {
		t.Fatalf("%d audio deltas; events %v", deltas, types)
	}

	if err := mc.PressDTMF("3"); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := leg.ReadEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, ok := ev.(*realtime.UnknownEvent); ok && u.Type == "input_audio_buffer.dtmf_event_received" {
			if !strings.Contains(string(u.Raw), `"event":"3"`) {
				t.Fatalf("dtmf %s", u.Raw)
			}
			break
		}
	}

	if errs := mc.ErrorsSent(); len(errs) > 0 {
		t.Fatalf("the attach socket refused %+v", errs)
	}

	call.CallerHangup()
	for {
		_, err := leg.ReadEvent(ctx)
		if err == nil {
			continue
		}
		var ce *realtime.CloseError
		if !errors.As(err, &ce) || !ce.Normal() {
			t.Fatalf("the caller's hang-up ended the leg with %v", err)
		}
		break
	}
	_ = leg.Close() // the call is over: its socket may be closed already
}
