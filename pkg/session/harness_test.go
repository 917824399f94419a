package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/bridgetest"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/sim"
)

// The bridge harness lives in internal/bridgetest (the agent's tests use it too);
// these names keep the session's tests short.
type (
	bridge       = bridgetest.Bridge
	bridgeConfig = bridgetest.Config
	recorder     = bridgetest.Recorder
)

const testKey = bridgetest.TestKey

func newBridge(t *testing.T, cfg bridgeConfig) *bridge { return bridgetest.New(t, cfg) }

func eventsOf[T callevent.Event](r *recorder) []T { return bridgetest.EventsOf[T](r) }

func waitEvent[T callevent.Event](ctx context.Context, t *testing.T, r *recorder, n int) T {
	t.Helper()
	return bridgetest.WaitEvent[T](ctx, t, r, n)
}

func timeout(t *testing.T, d time.Duration) context.Context { return bridgetest.Timeout(t, d) }
func noise(seed uint64, n int) []byte                       { return bridgetest.Noise(seed, n) }
func padFrames(audio []byte) []byte                         { return bridgetest.PadFrames(audio) }
func isClose(err error, code int) bool                      { return bridgetest.IsClose(err, code) }

func checkPCMU(t *testing.T, cfg realtime.SessionConfig) {
	t.Helper()
	bridgetest.CheckPCMU(t, cfg)
}

func noModelErrors(t *testing.T, mc *sim.ModelConn) {
	t.Helper()
	bridgetest.NoModelErrors(t, mc)
}
