package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

// Model is the model side of a load test: the strict Realtime twin
// (realtimetest.Model) served on its own listener, scripted to answer the
// simulated callers. The server under test dials it as its OpenAI base URL
// (BaseURL).
type Model struct {
	twin *realtimetest.Model
	ln   net.Listener
	srv  *http.Server
	done chan error

	mu    sync.Mutex
	calls map[callKey]*call // the calls of the run in progress
	conns map[*realtimetest.ModelConn]*modelConn
	// strays: marked caller frames of no known call (a previous run's, or damaged
	// beyond recognition), counted so they are not silently lost.
	strays int
}

type callKey struct {
	target uint8
	call   uint16
}

// StartModel serves the twin on addr (host:port; "" is 127.0.0.1:0, any free
// loopback port). Close stops it.
func StartModel(addr string) (*Model, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the model: %w", addr, err)
	}
	m := &Model{ln: ln, done: make(chan error, 1), calls: map[callKey]*call{}, conns: map[*realtimetest.ModelConn]*modelConn{}}
	m.twin = &realtimetest.Model{Script: m.script, AutoRespond: m.autoRespond, OnAudio: m.onAudio, OnDelta: m.onDelta,
		DiscardAudio: true} // the hooks see every frame; hundreds of calls need not keep them
	m.srv = &http.Server{Handler: m.twin, ReadHeaderTimeout: 10 * time.Second}
	go func() { m.done <- m.srv.Serve(ln) }()
	return m, nil
}

// BaseURL is the OPENAI_BASE_URL that points a server at this model.
func (m *Model) BaseURL() string { return "http://" + m.ln.Addr().String() + "/v1" }

// Close drops the model's connections and stops serving.
func (m *Model) Close() error {
	err := m.srv.Close()
	m.twin.Close()
	if serr := <-m.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// register makes the calls of a run known to the model, replacing the last run's.
func (m *Model) register(calls []*call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = map[callKey]*call{}
	for _, c := range calls {
		m.calls[callKey{c.target, c.index}] = c
	}
}

// modelConn is the load test's state of one model connection: which call it
// serves (known from the first marked frame of caller audio), the events the
// audio hook hands to the script, and the responses it said.
type modelConn struct {
	conn   *realtimetest.ModelConn
	events chan turnEvent
	scan   scanner // caller audio; used on the connection's reader only

	mu   sync.Mutex
	call *call
	resp uint16 // responses said so far
}

type turnEvent struct {
	start bool // the caller started speaking (else stopped)
	turn  uint16
}

func (m *Model) conn(c *realtimetest.ModelConn) *modelConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	mc := m.conns[c]
	if mc == nil {
		mc = &modelConn{conn: c, events: make(chan turnEvent, 64)}
		m.conns[c] = mc
	}
	return mc
}

func (m *Model) forget(c *realtimetest.ModelConn) {
	m.mu.Lock()
	delete(m.conns, c)
	m.mu.Unlock()
}

// onAudio reads the caller's marked frames as the model receives them: their relay
// latency, and the starts and ends of what the caller says (the twin's VAD).
func (m *Model) onAudio(c *realtimetest.ModelConn, audio []byte) {
	now := time.Now()
	mc := m.conn(c)
	mc.scan.feed(audio, func(id frameID, ok bool, _ int64) {
		mc.mu.Lock()
		cl := mc.call
		mc.mu.Unlock()
		if !ok {
			if cl != nil {
				cl.callerDamaged()
			} else {
				m.stray()
			}
			return
		}
		if id.dir != dirCaller {
			m.stray()
			return
		}
		if cl == nil {
			m.mu.Lock()
			cl = m.calls[callKey{id.target, id.call}]
			m.mu.Unlock()
			if cl == nil {
				m.stray()
				return
			}
			mc.mu.Lock()
			mc.call = cl
			mc.mu.Unlock()
			cl.addConn(c)
		}
		cl.callerArrived(id.serial, now)
		var ev []turnEvent
		if id.index == 0 {
			ev = append(ev, turnEvent{start: true, turn: id.turn})
		}
		if id.last {
			ev = append(ev, turnEvent{turn: id.turn})
		}
		for _, e := range ev {
			select {
			case mc.events <- e:
			default: // the script is hopelessly behind: the call will show it
			}
		}
	})
}

func (m *Model) stray() {
	m.mu.Lock()
	m.strays++
	m.mu.Unlock()
}

// onDelta notes when each agent frame left the model.
func (m *Model) onDelta(c *realtimetest.ModelConn, itemID string, audio []byte) {
	now := time.Now()
	mc := m.conn(c)
	mc.mu.Lock()
	cl := mc.call
	mc.mu.Unlock()
	if cl == nil {
		return
	}
	for off := 0; off+frameBytes <= len(audio); off += frameBytes {
		id, ok := readFrame(audio[off : off+frameBytes])
		if !ok {
			continue
		}
		cl.agentSent(id, itemID, now)
	}
}

// script runs one model connection: speech started and stopped as the caller's
// marked audio says, then an answer (or, every ToolEvery turns, a tool call).
func (m *Model) script(ctx context.Context, c *realtimetest.ModelConn) error {
	mc := m.conn(c)
	defer m.forget(c)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-mc.events:
			mc.mu.Lock()
			cl := mc.call
			mc.mu.Unlock()
			if ev.start {
				// The answer the caller speaks over (still streaming, or queued
				// at the relay) may lose its tail: the relay's to drop (report).
				mc.mu.Lock()
				if mc.resp > 0 {
					cl.spokenOver(mc.resp - 1)
				}
				mc.mu.Unlock()
				c.SpeechStarted()
				continue
			}
			c.SpeechStopped("")
			o := cl.opts
			if o.ToolEvery > 0 && int(ev.turn)%o.ToolEvery == 0 {
				cl.toolCalled()
				c.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{
					Name: o.Tool, Arguments: o.ToolArgs}}}})
				continue
			}
			c.Respond(ctx, mc.answer())
		}
	}
}

// autoRespond answers a response.create of the server under test (after a tool's
// output, or a greeting) with an answer like any other.
func (m *Model) autoRespond(c *realtimetest.ModelConn, _ *realtime.ResponseCreate) realtimetest.ResponseSpec {
	mc := m.conn(c)
	mc.mu.Lock()
	cl := mc.call
	mc.mu.Unlock()
	if cl == nil {
		return realtimetest.ResponseSpec{} // a greeting before the caller spoke: nothing to time
	}
	n := 0
	for _, it := range c.CreatedItems() {
		if it.Type == realtime.ItemFunctionCallOutput {
			n++
		}
	}
	cl.toolAnswered(n)
	return mc.answer()
}

// answer builds the next response: the answer's length of marked agent frames,
// streamed the way the Realtime API streams audio: faster than real time.
//
// OpenAI says so itself: the conversation.item.truncate reference explains that
// "the server will produce audio faster than realtime", and the Realtime overview
// that "faster-than-realtime audio ensures stable playback". Users see it as a whole
// answer delivered long before it has played (community.openai.com threads "Realtime
// API is extremely fast", /t/970088, and "How to determine if a response audio has
// finished", /t/1358787: the server "may have sent you 10 seconds of audio and sent
// the .done"), and reviewers of Twilio bridges as "seconds of buffered audio" at a
// barge-in (twilio/twilio-agent-connect-python#118). No source measures the rate or
// the size of a delta, so the figures here are the conservative side of that: a lead
// of answerLead sent at once, then twice real time (answerSpeedup), in deltas of one
// 20 ms frame, the smallest a telephony peer plays (the largest number of deltas,
// so the most work per second of audio for the relay under test).
func (mc *modelConn) answer() realtimetest.ResponseSpec {
	mc.mu.Lock()
	cl := mc.call
	turn := mc.resp
	mc.resp++
	n := max(1, int(cl.opts.Answer/(20*time.Millisecond)))
	audio := make([]byte, n*frameBytes)
	mc.mu.Unlock()
	serial := cl.agentSerials(n)
	for i := range n {
		putFrame(audio[i*frameBytes:], frameID{dir: dirAgent, target: cl.target, call: cl.index, serial: serial + uint32(i),
			turn: turn, index: uint16(i), last: i == n-1})
	}
	return streamed(audio)
}

// streamed is the response that says audio the way the API would (see answer).
func streamed(audio []byte) realtimetest.ResponseSpec {
	return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: audio, Transcript: "load test answer"}},
		ChunkBytes: frameBytes, Pace: 20 * time.Millisecond / answerSpeedup, LeadBytes: int(answerLead / time.Millisecond * 8)}
}

// How the model twin streams an answer (see answer).
const (
	answerLead    = 200 * time.Millisecond // sent at once when the answer starts
	answerSpeedup = 2                      // then this many times real time
)
