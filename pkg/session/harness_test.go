package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session/sessiontest"
)

// The bridge harness lives in pkg/session/sessiontest (the agent's tests use it too);
// these names keep the session's tests short.
type (
	bridge       = sessiontest.Bridge
	bridgeConfig = sessiontest.Config
	recorder     = sessiontest.Recorder
)

const testKey = sessiontest.TestKey

func newBridge(t *testing.T, cfg bridgeConfig) *bridge { return sessiontest.New(t, cfg) }

func eventsOf[T callevent.Event](r *recorder) []T { return sessiontest.EventsOf[T](r) }

func waitEvent[T callevent.Event](ctx context.Context, t *testing.T, r *recorder, n int) T {
	t.Helper()
	return sessiontest.WaitEvent[T](ctx, t, r, n)
}

func timeout(t *testing.T, d time.Duration) context.Context { return sessiontest.Timeout(t, d) }
func noise(seed uint64, n int) []byte                       { return sessiontest.Noise(seed, n) }
func padFrames(audio []byte) []byte                         { return sessiontest.PadFrames(audio) }
func isClose(err error, code int) bool                      { return sessiontest.IsClose(err, code) }

func checkPCMU(t *testing.T, cfg realtime.SessionConfig) {
	t.Helper()
	sessiontest.CheckPCMU(t, cfg)
}

func noModelErrors(t *testing.T, mc *realtimetest.ModelConn) {
	t.Helper()
	sessiontest.NoModelErrors(t, mc)
}
