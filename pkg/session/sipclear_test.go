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
		cleared bool // the server's output_audio_buffer.cleared came before the cancel
		want    string
	}{
		{"done answer playing", true, "", false, "[output_audio_buffer.clear response.cancel]"},
		{"answer generating", true, "resp_1", false, "[response.cancel output_audio_buffer.clear]"},
		{"server cleared it", true, "resp_1", true, "[response.cancel]"},
		{"nothing playing", false, "", false, "[response.cancel]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call, inner, leg := sipLeg(t)
			defer call.Close()
			if tc.playing {
				read(leg, inner, typeOutputStarted)
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
