package loadtest

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
)

// faultyLeg is a relay that loses and damages audio both ways: every dropEvery-th
// frame is not relayed, every damageEvery-th has one base64 character changed.
type faultyLeg struct {
	session.ModelLeg
	in, out atomic.Int64
}

const dropEvery, damageEvery = 23, 17

func damage(b []byte) []byte {
	b = slices.Clone(b)
	if i := len(b) / 2; b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return b
}

func (l *faultyLeg) AppendAudio(ctx context.Context, audio []byte) error {
	switch n := l.in.Add(1); {
	case n%dropEvery == 0:
		return nil
	case n%damageEvery == 0:
		audio = damage(audio)
	}
	return l.ModelLeg.AppendAudio(ctx, audio)
}

func (l *faultyLeg) ReadEvent(ctx context.Context) (realtime.ServerEvent, error) {
	for {
		ev, err := l.ModelLeg.ReadEvent(ctx)
		d, ok := ev.(*realtime.ResponseOutputAudioDelta)
		if err != nil || !ok {
			return ev, err
		}
		switch n := l.out.Add(1); {
		case n%dropEvery == 0:
			continue
		case n%damageEvery == 0:
			d.Delta = damage(d.Delta)
		}
		return d, nil
	}
}

// A relay that drops and damages frames is reported as such, both ways, and the
// healthy figures of the same run stay measured.
func TestFaultLoadReportsLostAndDamagedFrames(t *testing.T) {
	leakcheck.Check(t)
	m := startModel(t)
	url := startServe(t, m, func(l session.ModelLeg) session.ModelLeg { return &faultyLeg{ModelLeg: l} })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o := testOptions(url, soak(4))
	o.BargeEvery, o.ToolEvery, o.Targets[0].PID, o.MinTurns = 0, 0, 0, 2
	rep, err := Run(ctx, m, o)
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Targets[0]
	t.Logf("caller frames %+v, agent frames %+v, failures %v", tr.CallerFrames, tr.AgentFrames, tr.Failures)
	for dir, f := range map[string]FrameCount{"caller→model": tr.CallerFrames, "model→caller": tr.AgentFrames} {
		if f.Lost == 0 || f.Damaged == 0 {
			t.Errorf("%s: %+v: the faulty relay's losses are not reported", dir, f)
		}
		// Every lost or damaged frame is one the relay dropped or changed: about
		// 1/23 and 1/17 of the frames, never more than twice that.
		if f.Lost > 2*f.Sent/dropEvery+2 || f.Damaged > 2*f.Sent/damageEvery+2 {
			t.Errorf("%s: %+v: more losses than the relay made", dir, f)
		}
	}
	if tr.CallerToModel.N == 0 || tr.ModelToCaller.N == 0 {
		t.Errorf("latencies not measured: %+v %+v", tr.CallerToModel, tr.ModelToCaller)
	}
	if tr.Process != nil {
		t.Errorf("process figures without a pid: %+v", tr.Process)
	}
}

// Calls a target refuses are failures by reason, and a target that never reaches
// the load test's model shows as such.
func TestFaultLoadReportsRefusedCalls(t *testing.T) {
	leakcheck.Check(t)
	m := startModel(t)
	url := startServe(t, m, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := testOptions(url, 3)
	o.Targets[0].Token, o.Targets[0].PID, o.Ramp = "not-the-token", 0, 0
	rep, err := Run(ctx, m, o)
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Targets[0]
	if tr.Completed != 0 || tr.Failures["webhook: HTTP 403"] != 3 || tr.ModelReached != 0 {
		t.Errorf("completed %d, failures %v, model reached %d; want 3 refused (HTTP 403)", tr.Completed, tr.Failures, tr.ModelReached)
	}
	if tr.CallerToModel.N != 0 || tr.CallerFrames.Sent != 0 {
		t.Errorf("refused calls measured: %+v %+v", tr.CallerToModel, tr.CallerFrames)
	}
}

// The model twin answered at exactly real time, one 20 ms delta every 20 ms; the
// Realtime API produces audio faster than real time (model.go's answer cites the
// sources), and a relay must be measured against that. The answer's stream now
// takes well under its playing time, after a lead sent at once.
func TestFaultModelTwinFasterThanRealTime(t *testing.T) {
	audio := make([]byte, 100*frameBytes) // 2 s
	spec := streamed(audio)
	deltas := (len(audio) + spec.ChunkBytes - 1) / spec.ChunkBytes
	paced := deltas - spec.LeadBytes/spec.ChunkBytes
	took := time.Duration(max(paced, 0)) * spec.Pace
	if playing := time.Duration(len(audio)/8) * time.Millisecond; took > playing*3/5 {
		t.Fatalf("the twin streams %v of audio over %v: not faster than real time", playing, took)
	}
	if spec.LeadBytes < 100*8 {
		t.Fatalf("the twin sends %d bytes at the start of an answer: want a lead of at least 100 ms", spec.LeadBytes)
	}
}
