package session_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// Every way a call can end closes both sockets and leaves no goroutine (newBridge
// checks the goroutines; each case checks the sockets).
func TestEndings(t *testing.T) {
	tests := []struct {
		name       string
		cfg        func(*bridgeConfig)
		end        func(b *bridge, c *twiliotest.Caller, mc *realtimetest.ModelConn)
		reason     callevent.EndReason
		callerCode websocket.StatusCode // the close code the bridge sent the caller; 0: not checked
		modelCode  websocket.StatusCode // the close code the bridge sent the model; 0: not checked
		errCheck   func(error) bool
	}{
		{
			// PROTOCOL 3: a stop ends the model session at once, with a normal close.
			name: "caller hangs up", end: func(b *bridge, c *twiliotest.Caller, mc *realtimetest.ModelConn) { c.Hangup() },
			reason: callevent.EndCallerHangup, modelCode: websocket.StatusNormalClosure,
			errCheck: func(err error) bool { return err == nil },
		},
		{
			name: "caller closes without stop", end: func(b *bridge, c *twiliotest.Caller, mc *realtimetest.ModelConn) { c.Close() },
			reason: callevent.EndCallerDisconnected, modelCode: websocket.StatusNormalClosure,
		},
		{
			name: "caller connection drops", end: func(b *bridge, c *twiliotest.Caller, mc *realtimetest.ModelConn) { c.Drop() },
			reason: callevent.EndCallerDisconnected, modelCode: websocket.StatusNormalClosure,
		},
		{
			// PROTOCOL 2: the model vanishes: the caller is not left talking to nothing.
			name: "model connection drops", end: func(b *bridge, c *twiliotest.Caller, mc *realtimetest.ModelConn) { mc.Drop() },
			reason: callevent.EndModelDisconnected, callerCode: websocket.StatusNormalClosure,
		},
		{
			name: "model closes with an error", end: func(b *bridge, c *twiliotest.Caller, mc *realtimetest.ModelConn) {
				mc.Close(websocket.StatusInternalError, "server error")
			},
			reason: callevent.EndModelDisconnected, callerCode: websocket.StatusNormalClosure,
			errCheck: func(err error) bool { return isClose(err, 1011) && strings.Contains(err.Error(), "server error") },
		},
		{
			name: "context cancelled", end: func(b *bridge, c *twiliotest.Caller, mc *realtimetest.ModelConn) { b.Cancel() },
			reason: callevent.EndCancelled, callerCode: websocket.StatusNormalClosure, modelCode: websocket.StatusNormalClosure,
		},
		{
			name: "caller goes silent",
			cfg: func(c *bridgeConfig) {
				c.Options = func(o *session.Options) { o.CallerIdleTimeout = 300 * time.Millisecond }
			},
			end:    func(b *bridge, c *twiliotest.Caller, mc *realtimetest.ModelConn) {},
			reason: callevent.EndCallerTimeout, modelCode: websocket.StatusNormalClosure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := bridgeConfig{}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			b := newBridge(t, cfg)
			ctx := timeout(t, 10*time.Second)
			c := b.Dial(twiliotest.CallerOptions{})
			mc := b.ModelFor(ctx, c.CallSID())
			c.Say(noise(1, 10*twiliotest.FrameBytes))
			if err := mc.WaitAudio(ctx, 10*twiliotest.FrameBytes); err != nil {
				t.Fatal(err)
			}
			tt.end(b, c, mc)
			ended := b.Ended(ctx, c.CallSID())
			if ended.Reason != tt.reason {
				t.Fatalf("ended %s (%v), want %s", ended.Reason, ended.Err, tt.reason)
			}
			if tt.errCheck != nil && !tt.errCheck(ended.Err) {
				t.Errorf("ended with error %v", ended.Err)
			}
			if err := c.WaitClosed(ctx); err != nil {
				t.Error("caller socket:", err)
			}
			if err := mc.WaitClosed(ctx); err != nil {
				t.Error("model socket:", err)
			}
			if tt.callerCode != 0 && c.CloseStatus() != tt.callerCode {
				t.Errorf("caller socket closed with %v, want %v", c.CloseStatus(), tt.callerCode)
			}
			if tt.modelCode != 0 && websocket.CloseStatus(mc.CloseErr()) != tt.modelCode {
				t.Errorf("model socket closed with %v, want %v", mc.CloseErr(), tt.modelCode)
			}
			if last := b.Events(c.CallSID()).All(); len(last) == 0 || last[len(last)-1].Kind() != "call.ended" {
				t.Errorf("last event is not call.ended")
			}
		})
	}
}

// A model that cannot be reached ends the call cleanly, and the key stays secret.
func TestModelDialFails(t *testing.T) {
	b := newBridge(t, bridgeConfig{Key: "sk-wrong-key-abcdef0123456789"})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{})
	ended := b.Ended(ctx, c.CallSID())
	var de *realtime.DialError
	if ended.Reason != callevent.EndModelDialFailed || !errors.As(ended.Err, &de) || de.StatusCode != 401 {
		t.Fatalf("ended %s: %v", ended.Reason, ended.Err)
	}
	if strings.Contains(ended.Err.Error(), "abcdef0123456789") {
		t.Fatalf("the error shows the key: %v", ended.Err)
	}
	if err := c.WaitClosed(ctx); err != nil || c.CloseStatus() != websocket.StatusNormalClosure {
		t.Fatalf("caller socket: %v, status %v", err, c.CloseStatus())
	}
}

// PROTOCOL 1: an error event is part of a call, not the end of it; malformed frames
// from either side are skipped.
func TestErrorsAndMalformedFramesKeepTheCall(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{})
	mc := b.ModelFor(ctx, c.CallSID())
	rec := b.Events(c.CallSID())
	waitEvent[callevent.ModelConnected](ctx, t, rec, 1)

	mc.SendError("rate_limit_exceeded", "Rate limit reached")
	mc.SendRaw([]byte(`{"type":"response.output_audio.delta","delta":`))
	mc.SendRaw([]byte(`{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"not base64!!"}`))
	c.SendRaw([]byte(`{"event":"media","media":{"payload":"@@@@"}}`))
	c.SendRaw([]byte(`garbage`))

	if me := waitEvent[callevent.ModelError](ctx, t, rec, 1); me.Code != "rate_limit_exceeded" {
		t.Fatalf("model error %+v", me)
	}
	// One warning of each kind now; the second malformed Twilio frame is counted
	// and reported at the end (repeated warnings are summarised).
	waitEvent[callevent.Warning](ctx, t, rec, 3)

	// Audio still flows both ways.
	audio := noise(2, 5*twiliotest.FrameBytes)
	c.Say(audio)
	if err := mc.WaitAudio(ctx, len(audio)); err != nil || !bytes.Equal(mc.AudioIn(), audio) {
		t.Fatalf("caller audio after errors: %v", err)
	}
	agent := noise(3, 1600)
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: agent}}})
	if err := c.WaitReceived(ctx, len(agent)); err != nil || !bytes.Equal(c.Received(), agent) {
		t.Fatalf("agent audio after errors: %v", err)
	}
	c.Hangup()
	if e := b.Ended(ctx, c.CallSID()); e.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s: %v", e.Reason, e.Err)
	}
	if w := waitEvent[callevent.Warning](ctx, t, rec, 4); w.Code != callevent.WarnMalformedTwilioFrame || w.Count != 1 {
		t.Fatalf("the summary at the end: %+v", w)
	}
}

// At the time limit the agent is first told to wrap up, then the call ends.
func TestMaxDuration(t *testing.T) {
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(1, 800), Transcript: "Goodbye!"}}}
	}}
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) {
		o.MaxDuration = 600 * time.Millisecond
		o.WrapUpBefore = 300 * time.Millisecond
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	ended := b.Ended(tc.Ctx, tc.Caller.CallSID())
	if ended.Reason != callevent.EndMaxDuration || ended.Duration < 600*time.Millisecond {
		t.Fatalf("ended %s after %v", ended.Reason, ended.Duration)
	}
	items := tc.Model.CreatedItems()
	if len(items) != 1 || items[0].Role != "system" || !strings.Contains(items[0].Content[0].Text, "time limit") {
		t.Fatalf("wrap-up message %+v", items)
	}
	if len(tc.Model.Received(realtime.TypeResponseCreate)) != 1 {
		t.Fatal("the agent was not asked to respond to the wrap-up")
	}
	if err := tc.Model.WaitClosed(tc.Ctx); err != nil {
		t.Fatal(err)
	}
	if err := tc.Caller.WaitClosed(tc.Ctx); err != nil {
		t.Fatal(err)
	}
}
