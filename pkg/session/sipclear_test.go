package session

import (
	"context"
	"fmt"
	"testing"

	"github.com/callagent/callagent/pkg/realtime"
)

// A cut-off of ours on a SIP call clears the audio OpenAI still plays: at once
// when no response generates, after the response.cancel when one does (the API's
// order), and not at all when nothing plays or the server cleared it itself.
func TestSIPCutOffClearsOpenAIsAudio(t *testing.T) {
	ctx := context.Background()
	types := func(sent []realtime.ClientEvent) []string {
		var out []string
		for _, ev := range sent {
			out = append(out, ev.EventType())
		}
		return out
	}
	read := func(leg ModelLeg, inner *scriptedLeg, typ string) {
		t.Helper()
		inner.events <- &realtime.UnknownEvent{Type: typ, Raw: []byte(`{"type":"` + typ + `"}`)}
		inner.events <- &realtime.ResponseCreated{Response: realtime.Response{ID: "resp_1"}}
		if ev, err := leg.ReadEvent(ctx); err != nil || ev.EventType() != realtime.TypeResponseCreated {
			t.Fatalf("read %v, %v", ev, err)
		}
	}
	for _, tc := range []struct {
		name    string
		playing bool
		resp    string
		cleared bool  // the server's output_audio_buffer.cleared came before the cancel
		bargeIn bool  // the cut-off is the caller's speech_started
		vad     *bool // the session's turn detection: interrupt_response (nil: no turn detection)
		want    string
	}{
		{"done answer playing", true, "", false, false, nil, "[output_audio_buffer.clear response.cancel]"},
		{"answer generating", true, "resp_1", false, false, nil, "[response.cancel output_audio_buffer.clear]"},
		{"server cleared it", true, "resp_1", true, false, nil, "[response.cancel]"},
		{"nothing playing", false, "", false, false, nil, "[response.cancel]"},
		// A barge-in on a session whose turn detection interrupts: OpenAI clears.
		{"barge-in the server interrupts", true, "", false, true, ptr(true), "[response.cancel]"},
		// interrupt_response false: the server leaves the audio playing.
		{"barge-in the server lets play", true, "", false, true, ptr(false), "[output_audio_buffer.clear response.cancel]"},
		{"guardrail, server interrupts", true, "", false, false, ptr(true), "[output_audio_buffer.clear response.cancel]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call, inner, leg := sipLeg(t)
			defer call.Close()
			if tc.vad != nil {
				td := &realtime.TurnDetection{Type: "server_vad", InterruptResponse: tc.vad}
				inner.events <- &realtime.SessionUpdated{Session: realtime.SessionConfig{Audio: &realtime.AudioConfig{Input: &realtime.AudioInput{TurnDetection: td}}}}
				if _, err := leg.ReadEvent(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if tc.playing {
				read(leg, inner, typeOutputStarted)
			}
			if tc.bargeIn {
				// The session handles the caller's speech_started: a barge-in.
				inner.events <- &realtime.InputAudioBufferSpeechStarted{ItemID: "item_in"}
				if ev, err := leg.ReadEvent(ctx); err != nil || ev.EventType() != realtime.TypeInputAudioBufferSpeechStarted {
					t.Fatalf("read %v, %v", ev, err)
				}
			}
			if _, err := call.Interrupt(ctx, tc.resp); err != nil {
				t.Fatal(err)
			}
			if tc.cleared {
				read(leg, inner, typeOutputCleared)
			}
			if err := leg.Send(ctx, &realtime.ResponseCancel{}); err != nil {
				t.Fatal(err)
			}
			if got := types(inner.sent); fmt.Sprint(got) != tc.want {
				t.Fatalf("sent %v, want %s", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
