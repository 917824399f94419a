package livebridge

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/callagent/callagent/pkg/live"
)

// The leg's share of the audio path allocates nothing per frame: the barge-in
// detector on caller audio, and an agent audio delta turned into the Realtime one.
func TestLegAudioPathAllocationFree(t *testing.T) {
	l := New(nil, Options{})
	defer func() {
		if l.timer != nil {
			l.timer.Stop()
		}
	}()
	frame := base64.StdEncoding.AppendEncode(nil, bytes.Repeat([]byte{0x7f, 0xff}, 80))
	delta := &live.OutputAudioDelta{Delta: live.Audio(frame)}
	step := func() {
		l.hear(frame)
		l.mu.Lock()
		l.translate(delta)
		l.queue, l.head = l.queue[:0], 0
		l.mu.Unlock()
	}
	step() // the turn's response opens once
	if n := testing.AllocsPerRun(200, step); n != 0 {
		t.Errorf("%.1f allocations per frame", n)
	}
}
