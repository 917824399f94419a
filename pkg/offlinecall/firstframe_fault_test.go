package offlinecall

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// A replayed caller line cut from a recording starts wherever the recording's frames
// fell: when the simulated speech's first sound lands two bytes into a 20 ms frame,
// the frame before it holds only silence (the marker's envelope starts silent). The
// simulated caller's carrier suppresses silence, so that frame is not sent, and the
// session fills nothing before a stream's first frame: the brain must still
// understand the line. (It did not: `simulate --from-call` and the inspector's replay
// failed for a recording so aligned, about one in a dozen under load.)
func TestFaultReplayedLineStartingInsideASilentFrame(t *testing.T) {
	leakcheck.Check(t)
	speech := CallerVoice.Speak("What's the weather in Paris?")
	lead := 0
	for speech[lead] == audio.MulawSilence {
		lead++
	}
	// Silence, then the line whose first sound starts the second frame: the first
	// frame is the silence and the marker's silent start, all 0xFF.
	line := append(bytes.Repeat([]byte{audio.MulawSilence}, twiliotest.FrameBytes-lead), speech...)
	line = append(line, bytes.Repeat([]byte{audio.MulawSilence}, 1600)...)
	if _, ok := Transcribe(line[twiliotest.FrameBytes:]); !ok {
		t.Errorf("the line without its first (silent) frame is not understood")
	}

	dir := t.TempDir()
	var wav bytes.Buffer
	if err := audio.WriteMonoWAV(&wav, 8000, audio.DecodeMulaw(line)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "turn.wav"), wav.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := &Scenario{Name: "replayed line", dir: dir, Turns: []Turn{{Audio: "turn.wav"}, {Hangup: true}},
		Expect: Expect{ToolCalls: []string{"weather"}}}
	res, err := Run(context.Background(), Options{Scenario: sc, Agent: quickAgent(t), Approve: ApproveAll})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) > 0 {
		t.Fatalf("failures %q\n%s", res.Failures, kinds(res.Events))
	}
}
