package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// call is one simulated call: what its caller sent and received, what its model
// connection received and sent, and what came of it. The caller's hooks, the
// model's hooks and the caller's own goroutine all reach it: mu guards it.
type call struct {
	opts   *Options
	run    *targetRun
	target uint8
	index  uint16

	mu sync.Mutex
	// caller → model
	callerSerial  uint32
	callerSentAt  []time.Time // by serial; zero until sent
	callerGot     []bool
	callerGotN    int
	callerBroken  int
	callerSentN   int
	agentSerial   uint32
	agentFrames   []agentFrame // by serial
	agentBroken   int
	items         map[string]uint16 // model item id → response
	respStart     map[uint16]int64  // response → caller's playback position of its first byte
	respLast      map[uint16]bool   // response → its last frame arrived
	respSeen      int               // responses seen by the caller: highest + 1
	heard         map[uint16]float64
	spoken        map[uint16]bool // responses the caller spoke over
	bargeTurn     int             // the utterance that speaks over an answer, -1: none
	bargeAt       time.Time
	awaitingClear bool
	bargeIns      int
	cleared       int
	clears        int
	tools         int
	toolAnswers   int
	conns         []*realtimetest.ModelConn
	caller        *twiliotest.Caller // once placed
	scan          scanner            // agent audio at the caller; used on the caller's reader only
	failure       string
	began, ended  time.Time
}

type agentFrame struct {
	sentAt time.Time
	turn   uint16
	got    bool
}

func newCall(o *Options, r *targetRun, target uint8, index uint16) *call {
	return &call{opts: o, run: r, target: target, index: index, items: map[string]uint16{}, respStart: map[uint16]int64{},
		respLast: map[uint16]bool{}, heard: map[uint16]float64{}, spoken: map[uint16]bool{}, bargeTurn: -1}
}

func (c *call) sid() string {
	return fmt.Sprintf("CA%08x%02x%022x", c.run.id, c.target, c.index)
}

// utterance builds what the caller says at a turn: marked speech frames.
func (c *call) utterance(turn int) []byte {
	n := max(1, int(c.opts.Utterance/(20*time.Millisecond)))
	c.mu.Lock()
	serial := c.callerSerial
	c.callerSerial += uint32(n)
	c.mu.Unlock()
	b := make([]byte, n*frameBytes)
	for i := range n {
		putFrame(b[i*frameBytes:], frameID{dir: dirCaller, target: c.target, call: c.index, serial: serial + uint32(i),
			turn: uint16(turn), index: uint16(i), last: i == n-1})
	}
	return b
}

func (c *call) agentSerials(n int) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.agentSerial
	c.agentSerial += uint32(n)
	return s
}

// onSend: the caller is about to write a frame.
func (c *call) onSend(frame []byte) {
	now := time.Now()
	if len(frame) < frameBytes || [4]byte(frame[:4]) != magic {
		return // silence
	}
	id, ok := readFrame(frame)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for uint32(len(c.callerSentAt)) <= id.serial {
		c.callerSentAt = append(c.callerSentAt, time.Time{})
		c.callerGot = append(c.callerGot, false)
	}
	c.callerSentAt[id.serial] = now
	c.callerSentN++
	// A barge-in is speech over an answer still playing: one that has played out
	// by then has nothing to clear. A clear that comes after the caller's next
	// utterance started is that utterance's, never an earlier barge-in's.
	if id.index == 0 {
		c.awaitingClear = false
	}
	if id.index == 0 && int(id.turn) == c.bargeTurn && c.caller != nil && !c.caller.PlayedOut(now) {
		c.bargeAt, c.awaitingClear = now, true
		c.bargeIns++
	}
}

// callerArrived: the model received a caller frame.
func (c *call) callerArrived(serial uint32, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if serial >= uint32(len(c.callerGot)) || c.callerGot[serial] {
		return // never sent (a relay that makes frames up) or a duplicate
	}
	c.callerGot[serial] = true
	c.callerGotN++
	c.run.callerToModel.add(now.Sub(c.callerSentAt[serial]))
}

func (c *call) callerDamaged() {
	c.mu.Lock()
	c.callerBroken++
	c.mu.Unlock()
}

func (c *call) addConn(mc *realtimetest.ModelConn) {
	c.mu.Lock()
	c.conns = append(c.conns, mc)
	c.mu.Unlock()
}

// agentSent: the model is about to send an agent frame.
func (c *call) agentSent(id frameID, itemID string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for uint32(len(c.agentFrames)) <= id.serial {
		c.agentFrames = append(c.agentFrames, agentFrame{})
	}
	c.agentFrames[id.serial] = agentFrame{sentAt: now, turn: id.turn}
	c.items[itemID] = id.turn
}

// onReceive: the caller received agent audio at playback position pos.
func (c *call) onReceive(audio []byte, pos int64) {
	now := time.Now()
	start := c.scan.base + int64(len(c.scan.buf)) // stream offset of audio[0]
	c.scan.feed(audio, func(id frameID, ok bool, off int64) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !ok {
			c.agentBroken++
			return
		}
		if id.dir != dirAgent || id.serial >= uint32(len(c.agentFrames)) {
			c.agentBroken++ // not a frame the model sent this call
			return
		}
		f := &c.agentFrames[id.serial]
		if f.got {
			return
		}
		f.got = true
		c.run.modelToCaller.add(now.Sub(f.sentAt))
		if _, seen := c.respStart[id.turn]; !seen {
			c.respStart[id.turn] = pos + (off - start) - int64(id.index)*frameBytes
		}
		c.respSeen = max(c.respSeen, int(id.turn)+1)
		if id.last {
			c.respLast[id.turn] = true
		}
	})
}

// onClear: the caller received a clear. The answer then playing was heard up to
// rec.Played.
func (c *call) onClear(rec twiliotest.ClearRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clears++
	if c.awaitingClear {
		c.awaitingClear = false
		c.cleared++
		c.run.clearLatency.add(rec.At.Sub(c.bargeAt))
	}
	playing, best := uint16(0), int64(-1)
	for r, start := range c.respStart {
		if start <= rec.Played && start > best {
			playing, best = r, start
		}
	}
	if _, done := c.heard[playing]; best >= 0 && !done {
		c.heard[playing] = float64(rec.Played-best) / 8
	}
}

func (c *call) spokenOver(resp uint16) {
	c.mu.Lock()
	c.spoken[resp] = true
	c.mu.Unlock()
}

// agentFrames counts the agent's frames. Those of an answer the caller spoke over
// that follow its last frame to arrive are the relay's to drop (they would have
// been cleared): not expected, not lost. A frame missing before one that arrived
// is lost wherever it is.
func (c *call) agentFrameCount() FrameCount {
	lastGot := map[uint16]uint32{}
	for s, f := range c.agentFrames {
		if f.got {
			lastGot[f.turn] = max(lastGot[f.turn], uint32(s)+1)
		}
	}
	fc := FrameCount{Damaged: c.agentBroken}
	for s, f := range c.agentFrames {
		if f.sentAt.IsZero() || c.spoken[f.turn] && uint32(s)+1 > lastGot[f.turn] {
			continue
		}
		fc.Sent++
		if f.got {
			fc.Received++
		} else {
			fc.Lost++
		}
	}
	// A damaged frame is not also lost.
	fc.Lost = max(0, fc.Lost-fc.Damaged)
	return fc
}

func (c *call) toolCalled() {
	c.mu.Lock()
	c.tools++
	c.mu.Unlock()
}

func (c *call) toolAnswered(n int) {
	c.mu.Lock()
	c.toolAnswers = max(c.toolAnswers, n)
	c.mu.Unlock()
}

func (c *call) fail(reason string) {
	c.mu.Lock()
	if c.failure == "" {
		c.failure = reason
	}
	c.mu.Unlock()
}

func (c *call) state(f func(c *call) bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f(c)
}

// errEnded is how a caller's wait learns that the target ended the call.
var errEnded = errors.New("the target ended the call")

// waitUntil polls cond every 20 ms until it holds, the call ends or d passes.
func waitUntil(ctx context.Context, caller *twiliotest.Caller, d time.Duration, cond func() bool) error {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-caller.Done():
			return errEnded
		case <-deadline.C:
			return context.DeadlineExceeded
		case <-tick.C:
		}
	}
	return nil
}

// talk places the call and holds the conversation until endAt: the caller says
// something, the answer comes (after a tool call every ToolEvery turns); every
// BargeEvery turns the caller speaks over the answer after hearing BargeAfter of it.
func (c *call) talk(ctx context.Context, client *http.Client, endAt time.Time) {
	o := c.opts
	t := c.run.target
	c.mu.Lock()
	c.began = time.Now()
	c.mu.Unlock()
	caller, err := twiliotest.PlaceCall(ctx, twiliotest.CallOptions{
		Webhook: t.webhook(), AuthToken: t.Token, CallSID: c.sid(), AccountSID: "AC" + strings.Repeat("0", 32),
		From: "+15550100000", To: "+15550199999", HTTPClient: client,
		AllowInsecureStream: strings.HasPrefix(t.URL, "http://"),
		OmitSilence:         o.OmitSilence, PlayDelay: o.PlayDelay,
		OnSend: c.onSend, OnReceive: c.onReceive, OnClear: c.onClear,
		DiscardAudio: true, // the hooks see every frame; hundreds of calls need not keep them
	})
	if err != nil {
		c.fail(placeFailure(err))
		return
	}
	c.mu.Lock()
	c.caller = caller
	c.mu.Unlock()
	c.run.active.Add(1)
	defer c.run.active.Add(-1)
	hungUp := false
	defer func() {
		if !hungUp {
			caller.Close()
		}
		c.mu.Lock()
		c.ended = time.Now()
		c.mu.Unlock()
	}()
	wait := func(what string, d time.Duration, cond func(*call) bool) bool {
		err := waitUntil(ctx, caller, d, func() bool { return c.state(cond) })
		switch {
		case err == nil:
			return true
		case errors.Is(err, errEnded):
			c.fail(fmt.Sprintf("ended by the target (close %d)", caller.CloseStatus()))
		case ctx.Err() != nil:
			c.fail("interrupted")
		default:
			c.fail("no " + what)
		}
		return false
	}
	turnTime := o.Utterance + o.Answer + time.Second
	for turn := 0; turn < o.MinTurns || time.Now().Before(endAt); turn++ {
		var base int
		c.state(func(c *call) bool { base = c.respSeen; return true })
		caller.Say(c.utterance(turn))
		if !wait("answer", o.Utterance+o.AnswerTimeout, func(c *call) bool { return c.respSeen > base }) {
			return
		}
		var resp uint16
		c.state(func(c *call) bool { resp = uint16(c.respSeen - 1); return true })
		if o.BargeEvery > 0 && turn%o.BargeEvery == 0 && (turn+1 < o.MinTurns || time.Now().Add(turnTime).Before(endAt)) {
			// Speak over the answer once BargeAfter of it has played.
			if sleep(ctx, o.PlayDelay+o.BargeAfter) != nil {
				c.fail("interrupted")
				return
			}
			c.state(func(c *call) bool { c.bargeTurn = turn + 1; return true })
			continue
		}
		if !wait("end of the answer", o.Answer+o.AnswerTimeout, func(c *call) bool { return c.respLast[resp] }) {
			return
		}
		if !wait("answer played out", o.Answer+o.AnswerTimeout, func(*call) bool { return caller.PlayedOut(time.Now()) }) {
			return
		}
		if sleep(ctx, o.Pause) != nil {
			c.fail("interrupted")
			return
		}
	}
	// Every frame the caller said reaches the model before it hangs up: what does
	// not is lost.
	_ = waitUntil(ctx, caller, 3*time.Second, func() bool {
		return c.state(func(c *call) bool { return c.callerGotN+c.callerBroken >= c.callerSentN })
	})
	select {
	case <-caller.Done():
		c.fail(fmt.Sprintf("ended by the target (close %d)", caller.CloseStatus()))
		return
	default:
	}
	hungUp = true
	caller.Hangup()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// placeFailure names why a call could not be placed, briefly, for the report.
func placeFailure(err error) string {
	var se *twiliotest.StreamError
	switch msg := err.Error(); {
	case errors.As(err, &se):
		return fmt.Sprintf("stream error %d", se.Code)
	case strings.Contains(msg, "Reject"):
		return "webhook: rejected (busy)"
	case strings.HasPrefix(msg, "voice webhook answered "):
		code, _, _ := strings.Cut(strings.TrimPrefix(msg, "voice webhook answered "), ":")
		return "webhook: HTTP " + code
	case strings.HasPrefix(msg, "voice webhook:"):
		return "webhook: unreachable"
	}
	return "could not place the call"
}
