package server

import (
	"fmt"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// A call comes in two requests: the webhook, answered with TwiML that names the
// media stream and gives it a credential, and the stream, whose start message
// carries the credential back. Between them the call is pending here: it holds a
// place under MaxCalls, maybe a pre-dialed model session (up to MaxPredials), and
// its credential, for the pre-dial window (PredialTTL). The drain waits for it.
//
// Twilio's signature covers a webhook's URL and parameters, with no time or nonce:
// a captured webhook verifies forever. What bounds a replay is this server's memory
// of the calls it has answered and streamed (seenCalls): one answer per CallSid (a
// retry while pending gets the same one), one stream per CallSid.

// pendingStream is an answered webhook whose stream has not started.
type pendingStream struct {
	callSID string
	token   string   // the credential given in the TwiML ("" without signature checks)
	pre     *predial // nil over MaxPredials
	timer   *time.Timer
}

// seenKept bounds the calls remembered for refusing replays (about 100 bytes each).
const seenKept = 20000

// seenCalls remembers the CallSids this server answered a webhook for or took a
// stream of, the last seenKept of them.
type seenCalls struct {
	streamed map[string]bool // by CallSid: false once answered, true once streamed
	order    []string
}

func (c *seenCalls) answered(callSID string) bool {
	_, ok := c.streamed[callSID]
	return ok
}

func (c *seenCalls) mark(callSID string, streamed bool) {
	if _, ok := c.streamed[callSID]; !ok {
		c.order = append(c.order, callSID)
		if len(c.order) > seenKept {
			delete(c.streamed, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.streamed[callSID] = c.streamed[callSID] || streamed
}

// DefaultMaxPredials is the pre-dial bound for a call limit (0: none): the limit
// itself, since no more calls can be pending than it allows, or 100 without one.
func DefaultMaxPredials(maxCalls int) int {
	if maxCalls > 0 {
		return maxCalls
	}
	return defaultMaxPredials
}

// placesLocked counts the calls that hold a place under MaxCalls: running, pending
// and between the two. Caller holds s.mu.
func (s *Server) placesLocked() int { return len(s.calls) + len(s.pending) + s.starting }

// inFlight counts what the drain waits for: calls running, answered webhooks whose
// stream has not started, and streams between the two.
func (s *Server) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.placesLocked()
}

// webhookAdmission is what a verified webhook gets: the stream credential to answer
// with (none without signature checks), and how it was taken; or why it is refused
// (a key of refusals).
type webhookAdmission struct {
	token     string
	retry     bool // of a pending call: the same answer, nothing new opened
	predialed bool
	why       string
}

// admitWebhook decides what a verified webhook for callSID gets.
func (s *Server) admitWebhook(callSID string) webhookAdmission {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pending[callSID]; p != nil {
		// Twilio retries webhooks; even in the drain, the call is waited for.
		return webhookAdmission{token: p.token, retry: true, predialed: p.pre != nil}
	}
	switch {
	case s.closing || s.draining.Load():
		return webhookAdmission{why: "draining"}
	case s.seen.answered(callSID):
		return webhookAdmission{why: "replay"}
	}
	s.seen.mark(callSID, false)
	if s.cfg.MaxCalls > 0 && s.placesLocked() >= s.cfg.MaxCalls {
		return webhookAdmission{why: "busy"}
	}
	p := &pendingStream{callSID: callSID}
	if s.verify != nil {
		p.token = s.verify.streamToken(callSID, time.Now().Add(s.cfg.PredialTTL))
	}
	switch {
	case s.warm != nil:
		// Nothing dialed here: the stream takes a warm session on whichever
		// instance it reaches.
	case s.predialing < s.cfg.MaxPredials:
		p.pre = s.dialAhead(callSID)
		s.predialing++
		s.metrics.predialsOpen.Set(float64(s.predialing))
	default:
		s.metrics.predials.WithLabelValues("over_limit").Inc()
	}
	s.pending[callSID] = p
	s.wg.Add(1) // the expiry timer, released by stopTimer or by running
	p.timer = time.AfterFunc(s.cfg.PredialTTL, func() { s.expire(p) })
	return webhookAdmission{token: p.token, predialed: p.pre != nil}
}

// expire ends a pending call whose stream did not come within the pre-dial window.
func (s *Server) expire(p *pendingStream) {
	defer s.wg.Done()
	s.mu.Lock()
	mine := s.pending[p.callSID] == p
	if mine {
		s.dropPendingLocked(p)
	}
	s.mu.Unlock()
	if !mine {
		return
	}
	if p.pre != nil {
		s.metrics.predials.WithLabelValues("expired").Inc()
		p.pre.release()
	}
	// The call's log says why it has no audio: usually a proxy or tunnel that
	// does not pass WebSockets. Behind a load balancer the stream may have gone to
	// another instance, which serves the call: so this is a warning, not the
	// call's end.
	s.emit(callevent.Warning{Header: callevent.Header{Time: s.now(), CallSID: p.callSID}, Code: callevent.WarnNoMediaStream,
		Message: fmt.Sprintf("no media stream came within %v of the webhook: check that %s accepts WebSockets (behind a load balancer, another instance may have taken it)",
			s.cfg.PredialTTL, s.url(true, PathMediaStream))})
}

// dropPendingLocked removes p from the pending calls. Caller holds s.mu.
func (s *Server) dropPendingLocked(p *pendingStream) {
	delete(s.pending, p.callSID)
	if p.pre != nil {
		s.predialing--
		s.metrics.predialsOpen.Set(float64(s.predialing))
	}
}

func (p *pendingStream) stopTimer(s *Server) {
	if p.timer.Stop() {
		s.wg.Done()
	}
}

// admitStream takes a place for a stream whose start carried a valid credential
// of callSID (any start, without signature checks): the pending webhook's, with
// its pre-dial, or a new one for a stream another instance answered the webhook
// of. A CallSid this server has taken a stream of is refused: a credential opens
// one stream. It runs before any model session is opened for the stream; a stream
// admitted becomes a call with register, or gives its place back with leaveStart.
func (s *Server) admitStream(callSID string) (pre *predial, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[callSID]
	switch {
	case s.closing:
		return nil, "draining"
	case s.calls[callSID] != nil:
		return nil, "duplicate"
	case s.seen.streamed[callSID]:
		return nil, "replay"
	case p == nil && s.cfg.MaxCalls > 0 && s.placesLocked() >= s.cfg.MaxCalls:
		return nil, "busy"
	}
	s.seen.mark(callSID, true)
	s.starting++
	if p != nil {
		s.dropPendingLocked(p)
		p.stopTimer(s)
		pre = p.pre
	}
	return pre, ""
}

// leaveStart gives back the place of an admitted stream that will not be a call.
func (s *Server) leaveStart() {
	s.mu.Lock()
	s.starting--
	s.mu.Unlock()
}

// abandonPending ends callSID's pending call at once: Twilio reported that its
// stream failed.
func (s *Server) abandonPending(callSID string) {
	s.mu.Lock()
	p := s.pending[callSID]
	if p != nil && p.timer.Stop() {
		s.dropPendingLocked(p)
	} else {
		p = nil // none, or its expiry is running
	}
	s.mu.Unlock()
	if p == nil {
		return
	}
	s.wg.Done() // the timer's
	if p.pre != nil {
		s.metrics.predials.WithLabelValues("stream_failed").Inc()
		p.pre.release()
	}
}
