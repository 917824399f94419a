package server

import (
	"context"
	"net/http"
	"time"

	"github.com/callagent/callagent/internal/atomicfile"
	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// dialTimeout bounds one model dial; a dial that hangs must not hold a call forever.
const dialTimeout = 20 * time.Second

// predial is a model session dialed while the webhook was answered, waiting for the
// call's stream to claim it.
type predial struct {
	s      *Server
	cancel context.CancelFunc
	done   chan struct{} // closed when the dial finished; then leg or err is set
	leg    session.ModelLeg
	err    error
}

// dialAhead dials the model for callSID in the background. Caller holds s.mu.
func (s *Server) dialAhead(callSID string) *predial {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	p := &predial{s: s, cancel: cancel, done: make(chan struct{})}
	s.wg.Go(func() {
		p.leg, p.err = s.cfg.Dial(ctx, callSID)
		close(p.done)
		if p.err != nil {
			s.metrics.predials.WithLabelValues("failed").Inc()
			s.log.Warn("pre-dialing the model failed; the stream will dial again", "call_sid", callSID, "error", p.err)
		}
	})
	return p
}

// release cancels the dial and closes its session when it arrives.
func (p *predial) release() {
	p.cancel()
	p.s.wg.Go(func() {
		<-p.done
		if p.err == nil { // leg may be a typed nil beside an error
			_ = p.leg.Close()
		}
	})
}

// wait returns the pre-dialed session, or the error of the dial.
func (p *predial) wait(ctx context.Context) (session.ModelLeg, error) {
	select {
	case <-p.done:
		p.cancel()
		return p.leg, p.err
	case <-ctx.Done():
		p.release()
		return nil, ctx.Err()
	}
}

// mediaStream runs one call: the Media Streams WebSocket is the caller leg, the
// pre-dialed (or freshly dialed) model session the model leg.
func (s *Server) mediaStream(w http.ResponseWriter, r *http.Request) {
	// The credential must be good when the stream arrives (the wall clock: other
	// instances' too); its start may take StreamStartTimeout more, on a loaded server.
	arrived := time.Now()
	if s.verify != nil && !s.verify.stream(r) {
		s.rejectSignature(w, r)
		return
	}
	// The whole handler counts for the drain, setup included: what it starts (the
	// release of a pre-dial it gives up) is waited for too.
	if !s.enter() {
		s.reject(w, "draining", http.StatusServiceUnavailable, "shutting down")
		return
	}
	handedOff := false
	defer func() {
		if !handedOff {
			s.wg.Done()
		}
	}()
	stream, err := twiliotransport.Accept(w, r, twiliotransport.StreamOptions{StartTimeout: s.cfg.StreamStartTimeout})
	if err != nil {
		s.warnRefused("media stream did not start", "error", err, "remote", r.RemoteAddr)
		return
	}
	start := stream.Start()
	callSID := start.Start.CallSid
	if callSID == "" {
		callSID = start.Start.CustomParameters["CallSid"]
	}
	if callSID == "" {
		s.metrics.rejected.WithLabelValues("bad_request").Inc()
		s.warnRefused("stream refused: its start names no CallSid", "remote", r.RemoteAddr)
		_ = stream.Close()
		return
	}
	params := start.Start.CustomParameters
	token := params[StreamTokenParameter]
	delete(params, StreamTokenParameter) // no log, event or hook sees it
	if s.verify != nil {
		if why := s.verify.streamStart(callSID, token, arrived); why != "" {
			label := "signature"
			if why == tokenExpired {
				label = "expired"
			}
			s.metrics.rejected.WithLabelValues(label).Inc()
			s.warnRefused("stream refused: its start does not carry a valid credential of its call's webhook answer", "call_sid", callSID,
				"credential", why, "remote", r.RemoteAddr,
				"hint", "a replayed stream, a stream that came after the pre-dial window, or TwiML other than callagent's pointing at this stream")
			_ = stream.Close()
			return
		}
	}
	// Admission, before any model session is opened for this stream: a credential
	// opens one stream, once.
	pre, why := s.admitStream(callSID)
	if why != "" {
		s.metrics.rejected.WithLabelValues(why).Inc()
		s.warnRefused("stream refused: "+refusals[why], "call_sid", callSID, "remote", r.RemoteAddr)
		_ = stream.Close()
		return
	}
	info := CallInfo{CallSID: callSID, From: params["From"], To: params["To"], Parameters: params}

	dial := func(ctx context.Context) (session.ModelLeg, error) {
		if pre != nil {
			leg, err := pre.wait(ctx)
			if err == nil {
				s.metrics.predials.WithLabelValues("claimed").Inc()
				return leg, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
		if s.warm != nil {
			if leg := s.warm.take(); leg != nil {
				return leg, nil
			}
		}
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		return s.cfg.Dial(dctx, callSID)
	}
	opts := session.Options{}
	if s.cfg.Session != nil {
		if err := s.cfg.Session(info, &opts); err != nil {
			s.log.Error("setting up the call", "call_sid", callSID, "error", err)
			s.leaveStart()
			s.abandon(stream, pre)
			return
		}
	}
	opts.Caller, opts.Dial, opts.OnEvent = stream, dial, s.emit
	// The reason is known before the stream closes: Twilio's request to the
	// Connect action, which follows the close at once, finds it (the apology).
	opts.OnEnd = func(reason callevent.EndReason) { s.recordEnding(callSID, reason) }
	var rec *audio.Recording
	path := ""
	if s.cfg.RecordPath != nil {
		path = s.cfg.RecordPath(info)
	}
	if path != "" {
		rec = audio.NewRecording(s.now())
		opts.Recorder = rec
	}
	sess, err := session.New(opts)
	if err != nil {
		s.log.Error("setting up the call", "call_sid", callSID, "error", err)
		s.leaveStart()
		s.abandon(stream, pre)
		return
	}
	if why := s.register(callSID, sess); why != "" {
		s.metrics.rejected.WithLabelValues(why).Inc()
		s.warnRefused("stream refused: "+refusals[why], "call_sid", callSID)
		s.abandon(stream, pre)
		return
	}
	// The call runs on a goroutine of its own and the handler returns: net/http's
	// connection state, the handler's frames (setup is deep) and its stack are let
	// go for the call's duration; the stream was hijacked, so returning closes
	// nothing. The goroutine inherits the handler's place in s.wg.
	handedOff = true
	c := &runningCall{sess: sess, callSID: callSID, rec: rec, path: path}
	go s.runCall(c)
}

// runningCall is what a call's goroutine needs once its handler has returned.
type runningCall struct {
	sess    *session.Session
	callSID string
	rec     *audio.Recording
	path    string
}

// runCall runs a call to its end (on a goroutine of its own, counted in s.wg by the
// handler that started it), then saves its recording and forgets it.
func (s *Server) runCall(c *runningCall) {
	defer s.wg.Done()
	ended := c.sess.Run(context.Background())
	if c.rec != nil {
		c.rec.Finish(ended.Time)
		if err := writeRecording(c.path, c.rec); err != nil {
			s.log.Warn("could not save the call recording", "call_sid", c.callSID, "path", c.path, "error", err)
		} else {
			s.log.Info("call recorded", "call_sid", c.callSID, "path", c.path)
		}
	}
	s.unregister(c.callSID, ended.Reason)
}

// writeRecording writes the WAV next to path and renames it, so a reader never sees
// half a file.
func writeRecording(path string, rec *audio.Recording) error {
	return atomicfile.Write(path, 0o755, rec.WriteWAV)
}

// enter counts a media-stream handler in s.wg, unless the drain is over.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// refusals say why a webhook or a stream was refused, by metrics label.
var refusals = map[string]string{
	"busy":      "at the call limit",
	"draining":  "shutting down",
	"duplicate": "a call with this CallSid is already running (a replayed or repeated stream)",
	"replay":    "this call was answered or streamed here before: its webhook or stream credential was already used (a replay)",
}

// register turns a stream admitted by admitStream into a call, unless the drain
// ended meanwhile. It returns why not (a key of refusals), or "".
func (s *Server) register(callSID string, sess *session.Session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starting--
	if s.closing {
		return "draining"
	}
	s.calls[callSID] = sess
	s.taken++
	s.metrics.active.Inc()
	return ""
}

// callsTaken counts the calls this server has run.
func (s *Server) callsTaken() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken
}

func (s *Server) unregister(callSID string, reason callevent.EndReason) {
	s.mu.Lock()
	delete(s.calls, callSID)
	s.recordEndingLocked(callSID, reason)
	s.mu.Unlock()
	s.metrics.active.Dec()
}

// recordEnding keeps why a call ended for the Connect action (streamEnded), the
// last endedReasonsKept calls.
func (s *Server) recordEnding(callSID string, reason callevent.EndReason) {
	s.mu.Lock()
	s.recordEndingLocked(callSID, reason)
	s.mu.Unlock()
}

func (s *Server) recordEndingLocked(callSID string, reason callevent.EndReason) {
	if _, known := s.ended[callSID]; !known {
		s.endedLog = append(s.endedLog, callSID)
	}
	s.ended[callSID] = reason
	if len(s.endedLog) > endedReasonsKept {
		delete(s.ended, s.endedLog[0])
		s.endedLog = s.endedLog[1:]
	}
}

// abandon closes a stream that will not become a call, and its pre-dial.
func (s *Server) abandon(stream *twiliotransport.Stream, pre *predial) {
	_ = stream.Close()
	if pre != nil {
		pre.release()
	}
}

// emit handles one call event, of a session or of the server itself: metrics, the
// log, then Config.OnEvent.
func (s *Server) emit(ev callevent.Event) {
	s.metrics.observe(ev)
	s.logEvent(ev)
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ev)
	}
}
