package server

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// 200 calls at once through the real server against the fake model, in real time: each
// caller speaks one second, the agent answers one second, the caller hangs up. Every
// call must carry its own audio exactly and end cleanly; nothing may be left running
// (newTestServer's leak check). The figures it logs include the fake peers, which run
// in the same process, so they are an upper bound for the server alone.
//
// Under -race the detector makes each call several times as costly (53 ms of CPU a
// call instead of a few): 200 calls took 16 s on 2 quiet cores and far longer on
// loaded ones, past the suite's 10 s a test, and the figures it logs then measure
// the detector, not the server. So -race runs 60 calls, still concurrent, still
// each checked for its own audio and a clean end; CALLAGENT_SOAK (scripts/soak's
// multiplier) scales either size.
func TestServe200ConcurrentCalls(t *testing.T) {
	calls := 200
	if raceDetector {
		calls = 60
	}
	calls = opsSoak(calls)
	// On 2 loaded cores under -race a stream may start long after its webhook: the
	// pre-dial window (and the stream credentials' life) is not what this measures.
	ts := newTestServer(t, func(c *Config) { c.PredialTTL = 2 * time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The model side: for each connection, wait for a second of the caller, then answer
	// with a second of audio in real time.
	var models sync.WaitGroup
	stopModels := make(chan struct{})
	defer func() { close(stopModels); models.Wait() }()
	models.Go(func() {
		for {
			select {
			case mc := <-ts.conns:
				models.Go(func() {
					if mc.WaitAudio(ctx, 8000) != nil {
						return
					}
					mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: agentAudio(mc.Request.Header.Get("X-Call-Sid"))}},
						ChunkBytes: 800, Pace: 100 * time.Millisecond})
				})
			case <-stopModels:
				return
			}
		}
	})

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	start := time.Now()

	// Every call holds the line until all of them are up, so the 200 are truly
	// concurrent when the heap is measured.
	var wg, up sync.WaitGroup
	release := make(chan struct{})
	up.Add(calls)
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			var once sync.Once
			isUp := func() { once.Do(up.Done) }
			defer isUp()
			sid := fmt.Sprintf("CA%030d", i)
			if resp, body := ts.webhook(sid, nil); resp.StatusCode != 200 {
				errs <- fmt.Errorf("%s: webhook %d %s", sid, resp.StatusCode, body)
				return
			}
			c, err := twiliotest.DialCaller(ctx, ts.callerOptions(sid, 20*time.Millisecond))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.Say(callerAudio(sid))
			want := agentAudio(sid)
			if err := c.WaitReceived(ctx, len(want)); err != nil {
				errs <- fmt.Errorf("%s: %w", sid, err)
				return
			}
			if !bytes.Equal(c.Received(), want) {
				errs <- fmt.Errorf("%s: agent audio differs", sid)
				return
			}
			isUp()
			<-release
			c.Hangup()
			if e := ts.waitEnded(ctx, sid); e.Reason != callevent.EndCallerHangup || e.InBytes != 8000 || e.OutBytes != 8000 {
				errs <- fmt.Errorf("%s: ended %s in=%d out=%d (%v)", sid, e.Reason, e.InBytes, e.OutBytes, e.Err)
			}
		})
	}
	up.Wait()
	active := ts.srv.ActiveCalls()
	var peak runtime.MemStats
	runtime.ReadMemStats(&peak)
	goroutines := runtime.NumGoroutine()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.Log(grep(ts.metricsText(t), "rejected"))
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	if active != calls {
		t.Errorf("%d calls active at the peak, want %d", active, calls)
	}
	t.Logf("%d concurrent calls (1 s each way, real time) in %v: CPU %.1f ms per call, heap in use %.0f KiB per call, "+
		"%.1f goroutines per call (server and fake peers together)",
		calls, elapsed.Round(time.Millisecond), float64(cpu.Microseconds())/1000/float64(calls),
		float64(peak.HeapInuse-min(peak.HeapInuse, before.HeapInuse))/1024/float64(calls), float64(goroutines)/float64(calls))
	if ts.srv.ActiveCalls() != 0 {
		t.Fatalf("%d calls still active", ts.srv.ActiveCalls())
	}
}

func callerAudio(sid string) []byte { return pattern(sid, 8000, 1) }
func agentAudio(sid string) []byte  { return pattern(sid, 8000, 2) }

// pattern is audio unique to a call, so any cross-talk shows.
func pattern(sid string, n int, salt byte) []byte {
	b := make([]byte, n)
	h := salt
	for _, c := range []byte(sid) {
		h = h*31 + c
	}
	for i := range b {
		b[i] = h + byte(i*7)
	}
	return b
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
