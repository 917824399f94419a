package loadtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/session"
)

const testToken = "loadtest-signing-token"

// startServe runs the real server with AgentConfig against m, as `callagent serve`
// does with OPENAI_BASE_URL at the load test's model; wrap, when set, stands
// between the session and the model leg (a faulty relay).
func startServe(t *testing.T, m *Model, wrap func(session.ModelLeg) session.ModelLeg) string {
	t.Helper()
	cfg, err := agent.Parse("loadtest.yaml", []byte(AgentConfig), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	rt, err := agent.NewRuntime(cfg, agent.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	dial := server.RealtimeDialer(realtime.DialOptions{BaseURL: m.BaseURL(), APIKey: "loadtest", Model: cfg.Model})
	srv, err := server.New(server.Config{
		PublicURL: public, InsecureHTTPPublicURL: true, AuthToken: testToken,
		Dial: func(ctx context.Context, sid string) (session.ModelLeg, error) {
			leg, err := dial(ctx, sid)
			if err != nil || wrap == nil {
				return leg, err
			}
			return wrap(leg), nil
		},
		Session: func(_ server.CallInfo, so *session.Options) error {
			rt.Setup(so)
			return nil
		},
		PredialTTL: 2 * time.Minute,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, 2*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	})
	return public
}

func startModel(t *testing.T) *Model {
	t.Helper()
	m, err := StartModel("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// soak scales a test by CALLAGENT_SOAK (a multiplier of the calls), for scripts/soak.
func soak(n int) int {
	if k, err := strconv.Atoi(os.Getenv("CALLAGENT_SOAK")); err == nil && k > 1 {
		return n * k
	}
	return n
}

func testOptions(url string, calls int) Options {
	return Options{Targets: []Target{{Name: "serve", URL: url, Token: testToken, PID: os.Getpid()}},
		// Three turns whatever the machine's load: a tool call and a barge-in at the
		// first, a whole answer at the second and the third.
		Calls: calls, Ramp: 500 * time.Millisecond, MinTurns: 3, Utterance: 400 * time.Millisecond, Answer: time.Second,
		Pause: 100 * time.Millisecond, BargeEvery: 2, BargeAfter: 300 * time.Millisecond, ToolEvery: 3, OmitSilence: true}
}

// Ten calls through the real server with the load test's agent configuration: every
// figure of the report is measured, none is lost on a healthy server.
func TestLoadServe(t *testing.T) {
	leakcheck.Check(t)
	m := startModel(t)
	url := startServe(t, m, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, m, testOptions(url, soak(10)))
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Targets[0]
	t.Logf("%+v", tr)
	if tr.Completed != tr.Calls || len(tr.Failures) > 0 {
		t.Errorf("completed %d of %d, failures %v", tr.Completed, tr.Calls, tr.Failures)
	}
	for name, d := range map[string]Dist{"caller→model": tr.CallerToModel, "model→caller": tr.ModelToCaller,
		"clear": tr.ClearLatency, "truncation": tr.Truncation} {
		if d.N == 0 {
			t.Errorf("%s: no measurement", name)
		}
		if name != "truncation" && (d.P50 <= 0 || d.Max < d.P99 || d.P99 < d.P50) {
			t.Errorf("%s: %+v is not a latency", name, d)
		}
	}
	// Every barge-in is cleared on a machine with CPU to spare; on a loaded one an
	// answer may have played out before serve heard the caller (nothing to clear).
	if tr.BargeIns == 0 || tr.Cleared == 0 || tr.Cleared > tr.BargeIns {
		t.Errorf("barge-ins %d, cleared %d", tr.BargeIns, tr.Cleared)
	}
	if tr.ToolCalls == 0 || tr.ToolAnswers != tr.ToolCalls {
		t.Errorf("tool calls %d, answered %d", tr.ToolCalls, tr.ToolAnswers)
	}
	for dir, f := range map[string]FrameCount{"caller": tr.CallerFrames, "agent": tr.AgentFrames} {
		if f.Sent == 0 || f.Lost != 0 || f.Damaged != 0 || f.Received < f.Sent {
			t.Errorf("%s frames: %+v", dir, f)
		}
	}
	// Each truncation was matched with the answer it cut: the error is within the
	// answer (its size is serve's accuracy, a figure for the report, not a bound
	// a loaded test machine can hold).
	if tr.Truncation.Min < -1000 || tr.Truncation.Max > 1000 {
		t.Errorf("truncation error %+v ms", tr.Truncation)
	}
	if p := tr.Process; p == nil || p.PeakCalls != int64(tr.Calls) || p.CPUSeconds <= 0 || p.PeakRSSKB <= 0 {
		t.Errorf("process: %+v", p)
	} else if _, err := os.Stat("/proc/self/io"); err == nil && (p.ReadsPerCallSecond <= 0 || p.WritesPerCallSecond <= 0 || p.SwitchesPerCallSecond <= 0) {
		t.Errorf("process: %+v: no reads, writes or context switches counted", p)
	}
}
