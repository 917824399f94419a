package session

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// scriptedLeg is a model leg whose events the test feeds and whose sends it reads.
type scriptedLeg struct {
	events chan any // realtime.ServerEvent or error
	sent   []realtime.ClientEvent
	closed chan struct{}
}

func newScriptedLeg() *scriptedLeg {
	return &scriptedLeg{events: make(chan any, 16), closed: make(chan struct{})}
}

func (l *scriptedLeg) ReadEvent(ctx context.Context) (realtime.ServerEvent, error) {
	select {
	case v := <-l.events:
		if err, ok := v.(error); ok {
			return nil, err
		}
		return v.(realtime.ServerEvent), nil
	case <-l.closed:
		return nil, errors.New("closed")
	}
}
func (l *scriptedLeg) Send(_ context.Context, ev realtime.ClientEvent) error {
	l.sent = append(l.sent, ev)
	return nil
}
func (l *scriptedLeg) AppendAudio(context.Context, []byte) error { return nil }
func (l *scriptedLeg) SetTrace(realtime.TraceFunc)               {}
func (l *scriptedLeg) Close() error                              { close(l.closed); return nil }
func (l *scriptedLeg) CloseNow() error                           { return l.Close() }

func sipLeg(t *testing.T) (*SIPCall, *scriptedLeg, ModelLeg) {
	t.Helper()
	call := NewSIPCall("rtc_1", "+15550001111", "+15552223333", map[string]string{"SipFrom": "sip:+15550001111@x"})
	inner := newScriptedLeg()
	leg, err := call.Dial(func(context.Context) (ModelLeg, error) { return inner, nil })(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return call, inner, leg
}

func TestSIPCallLegFromTheSideband(t *testing.T) {
	leakcheck.Check(t)
	call, inner, leg := sipLeg(t)
	ctx := context.Background()
	if st := call.Start().Start; st.CallSid != "rtc_1" || st.CustomParameters["From"] != "+15550001111" || st.CustomParameters["SipFrom"] == "" {
		t.Fatalf("start: %+v", st)
	}

	// Audio playing at OpenAI: WaitPlayed waits for output_audio_buffer.stopped.
	inner.events <- &realtime.UnknownEvent{Type: typeOutputStarted, Raw: []byte(`{"type":"output_audio_buffer.started"}`)}
	inner.events <- &realtime.ResponseCreated{Response: realtime.Response{ID: "resp_1"}}
	if ev, _ := leg.ReadEvent(ctx); ev.EventType() != realtime.TypeResponseCreated {
		t.Fatalf("read %T", ev)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if err := call.WaitPlayed(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitPlayed while playing: %v", err)
	}
	cancel()
	inner.events <- &realtime.UnknownEvent{Type: typeOutputStopped, Raw: []byte(`{"type":"output_audio_buffer.stopped"}`)}
	// A key press becomes the caller leg's dtmf frame.
	inner.events <- &realtime.UnknownEvent{Type: typeDTMF, Raw: []byte(`{"type":"input_audio_buffer.dtmf_event_received","event":"7","received_at":1}`)}
	// The first transcript of an answer stands for its first audio.
	inner.events <- &realtime.ResponseOutputAudioTranscriptDelta{ResponseID: "resp_1", ItemID: "item_1", Delta: "Hello"}
	ev, _ := leg.ReadEvent(ctx)
	if d, ok := ev.(*realtime.ResponseOutputAudioDelta); !ok || d.ItemID != "item_1" || len(d.Delta) != 0 {
		t.Fatalf("read %#v, want an empty audio delta of item_1", ev)
	}
	if ev, _ := leg.ReadEvent(ctx); ev.EventType() != realtime.TypeResponseOutputAudioTranscriptDelta {
		t.Fatalf("read %T", ev)
	}
	if err := call.WaitPlayed(ctx); err != nil {
		t.Fatalf("WaitPlayed after stopped: %v", err)
	}
	f, err := call.ReadFrame(ctx)
	if d, ok := f.(*twiliotransport.DTMF); err != nil || !ok || d.DTMF.Digit != "7" {
		t.Fatalf("frame %#v, %v", f, err)
	}

	// The first session.update is the accept's; later ones go without formats.
	cfg := (&Agent{Instructions: "hi"}).sessionConfig()
	leg.Send(ctx, &realtime.SessionUpdate{Session: cfg})
	leg.Send(ctx, &realtime.SessionUpdate{Session: cfg})
	if len(inner.sent) != 1 {
		t.Fatalf("sent %d updates, want 1", len(inner.sent))
	}
	a := inner.sent[0].(*realtime.SessionUpdate).Session.Audio
	if a.Input.Format != nil || a.Output.Format != nil || cfg.Audio.Input.Format == nil {
		t.Fatalf("formats: sent %+v %+v; the agent's config changed: %v", a.Input.Format, a.Output.Format, cfg.Audio.Input.Format == nil)
	}
	if err := leg.AppendAudio(ctx, []byte("AAAA")); err == nil {
		t.Fatal("caller audio accepted on a SIP call")
	}

	// OpenAI closes the sideband normally: the caller hung up.
	inner.events <- &realtime.CloseError{Code: 1000}
	read := make(chan error, 1)
	go func() { _, err := leg.ReadEvent(ctx); read <- err }()
	f, err = call.ReadFrame(ctx)
	if _, ok := f.(*twiliotransport.Stop); err != nil || !ok {
		t.Fatalf("after the sideband closed: %#v, %v", f, err)
	}
	select {
	case <-read:
		t.Fatal("ReadEvent returned before the session closed the call")
	case <-time.After(10 * time.Millisecond):
	}
	call.Close()
	if err := <-read; err == nil {
		t.Fatal("ReadEvent after the close: no error")
	}
	if _, err := call.ReadFrame(ctx); err == nil {
		t.Fatal("ReadFrame after Close: no error")
	}
}

// A hang-up or transfer of ours closes the sideband too: the caller leg then
// waits for the call to be ended with the tool's reason instead of reporting the
// caller's hang-up.
func TestSIPCallEndingByRequest(t *testing.T) {
	leakcheck.Check(t)
	call, inner, leg := sipLeg(t)
	call.mu.Lock()
	call.ending = true
	call.mu.Unlock()
	inner.events <- &realtime.CloseError{Code: 1000}
	read := make(chan error, 1)
	go func() { _, err := leg.ReadEvent(context.Background()); read <- err }()
	frame := make(chan twiliotransport.Frame, 1)
	go func() { f, _ := call.ReadFrame(context.Background()); frame <- f }()
	select {
	case f := <-frame:
		t.Fatalf("the caller leg reported %T during our own hang-up", f)
	case <-time.After(20 * time.Millisecond):
	}
	call.Close() // the tool ended the call
	<-read
	if f := <-frame; f != nil {
		t.Fatalf("frame %T after the close", f)
	}
}

// TestFaultAcceptStatesNoNulls: the accept creates the session, whose transcription
// and noise reduction start off; stating them off with null is what a session.update
// does, and CallAcceptParams (openai package) does not allow it — the conformance
// check rejected the accept of an agent without them. turn_detection's null stays:
// the default is server VAD. Formats go; the agent's own config is not changed.
func TestFaultAcceptStatesNoNulls(t *testing.T) {
	cfg := (&Agent{Instructions: "hi"}).sessionConfig()
	cfg.Audio.Input.Transcription, cfg.Audio.Input.NoiseReduction, cfg.Audio.Input.TurnDetection = nil, nil, nil
	cfg.Audio.Input.Off = realtime.OffTranscription | realtime.OffNoiseReduction | realtime.OffTurnDetection
	b, err := json.Marshal(acceptConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Audio struct {
			Input map[string]json.RawMessage `json:"input"`
		} `json:"audio"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"transcription", "noise_reduction", "format"} {
		if v, ok := got.Audio.Input[k]; ok {
			t.Errorf("the accept states %s: %s", k, v)
		}
	}
	if v := string(got.Audio.Input["turn_detection"]); v != "null" {
		t.Errorf("turn_detection %q, want null (off, unlike the default)", v)
	}
	if cfg.Audio.Input.Off&realtime.OffNoiseReduction == 0 || cfg.Audio.Input.Format == nil {
		t.Error("the agent's config was changed")
	}
}
