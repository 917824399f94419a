package twiliotransport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/jsonscan"
	"github.com/callagent/callagent/internal/wsconn"
)

// Defaults for Accept.
const (
	DefaultStartTimeout = 10 * time.Second
	// DefaultReadLimit bounds one message from Twilio. Media frames are ~400 bytes;
	// start messages with custom parameters a few KiB.
	DefaultReadLimit = 64 << 10
)

// StreamOptions configure Accept.
type StreamOptions struct {
	// StartTimeout bounds the wait for the start message (default DefaultStartTimeout).
	StartTimeout time.Duration
	// ReadLimit is the largest message accepted, in bytes (default DefaultReadLimit).
	ReadLimit int64
	// Now is the playback clock (default time.Now).
	Now func() time.Time
	// AcceptOptions are passed to the WebSocket upgrade; compression is always off.
	AcceptOptions *websocket.AcceptOptions
}

// TraceFunc observes frames for debugging: sent is true for frames sent to Twilio.
// It is called synchronously, raw valid only during the call, and never for media
// frames, which are counted instead of traced.
type TraceFunc func(sent bool, event string, raw []byte)

// Stream is the caller leg of one call: a Twilio Media Stream WebSocket after its
// start message. One goroutine reads with ReadFrame; sends may come from any goroutine.
type Stream struct {
	conn  *wsconn.Conn
	start Start
	sid   []byte // the stream SID as a JSON string, ready to splice into frames
	pb    *Playback
	dec   mediaDecoder
	trace atomic.Pointer[TraceFunc]
	// early holds the handshake's frames until the first SetTrace.
	early     []earlyFrame
	earlyOnce sync.Once

	// sendMu makes "enqueue in the tracker, then write" atomic with respect to an
	// interruption, so a chunk is never counted in one generation and sent in another.
	sendMu sync.Mutex
}

// Accept upgrades a Media Streams request and reads the stream's connected and start
// messages. It does not check the request's signature: do that before calling it.
func Accept(w http.ResponseWriter, r *http.Request, opts StreamOptions) (*Stream, error) {
	ao := websocket.AcceptOptions{}
	if opts.AcceptOptions != nil {
		ao = *opts.AcceptOptions
	}
	ao.CompressionMode = websocket.CompressionDisabled
	ws, err := websocket.Accept(smallBuffers{w}, r, &ao)
	if err != nil {
		return nil, fmt.Errorf("accept twilio stream: %w", err)
	}
	return Handshake(r.Context(), ws, opts)
}

// Handshake reads the connected and start messages of an accepted stream WebSocket.
// On failure the WebSocket is closed.
func Handshake(ctx context.Context, ws *websocket.Conn, opts StreamOptions) (*Stream, error) {
	limit := opts.ReadLimit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	s := &Stream{conn: wsconn.New(ws, limit), pb: NewPlayback(opts.Now)}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		data, err := s.conn.Read(hctx)
		if err != nil {
			_ = s.conn.CloseNow()
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, ErrNoStart
			}
			return nil, fmt.Errorf("read twilio start: %w", closeError(err))
		}
		f, err := DecodeFrame(data)
		if len(s.early) < maxEarlyFrames {
			ev := ""
			if f != nil {
				ev = f.FrameEvent()
			}
			s.early = append(s.early, earlyFrame{ev, append([]byte(nil), data...)})
		}
		if err != nil {
			continue // a malformed frame before start is skipped like any other
		}
		if st, ok := f.(*Start); ok {
			s.start = *st
			if s.start.StreamSid == "" {
				s.start.StreamSid = st.Start.StreamSid
			}
			break
		}
	}
	s.conn.Unbind() // the handshake deadline must not close the stream later
	s.sid = jsonscan.AppendString(nil, s.start.StreamSid)
	return s, nil
}

// Start returns the stream's start message.
func (s *Stream) Start() Start { return s.start }

// Playback returns the stream's playback tracker.
func (s *Stream) Playback() *Playback { return s.pb }

// SetTrace installs (or, with nil, removes) a frame observer. The first one is
// given the frames of the handshake (connected, start) before any other.
func (s *Stream) SetTrace(fn TraceFunc) {
	if fn == nil {
		s.trace.Store(nil)
		return
	}
	s.earlyOnce.Do(func() {
		for _, f := range s.early {
			fn(false, f.event, f.data)
		}
		s.early = nil
	})
	s.trace.Store(&fn)
}

// maxEarlyFrames bounds the handshake frames kept for the trace.
const maxEarlyFrames = 4

type earlyFrame struct {
	event string
	data  []byte
}

// ReadFrame returns the next message from Twilio. Inbound media is returned as a
// reused *Media whose payload aliases the read buffer, valid until the next call;
// a mark echo as a reused *Mark, applied to the playback tracker first.
// A malformed message returns a *DecodeError and the stream stays usable; the end of
// the WebSocket returns an error wrapping *CloseError.
func (s *Stream) ReadFrame(ctx context.Context) (Frame, error) {
	data, err := s.conn.Read(ctx)
	if err != nil {
		return nil, closeError(err)
	}
	if m, ok := s.dec.decode(data); ok {
		return m, s.checkMedia(m)
	}
	if m, ok := s.dec.decodeMark(data); ok {
		if t := s.trace.Load(); t != nil {
			(*t)(false, EventMark, data)
		}
		s.pb.Ack(m.Mark.Name)
		return m, nil
	}
	f, err := DecodeFrame(data)
	if t := s.trace.Load(); t != nil {
		ev := ""
		if f != nil {
			ev = f.FrameEvent()
		}
		if ev != EventMedia {
			(*t)(false, ev, data)
		}
	}
	if err != nil {
		return nil, err
	}
	switch f := f.(type) {
	case *Media:
		return f, s.checkMedia(f)
	case *Mark:
		s.pb.Ack(f.Mark.Name)
	}
	return f, nil
}

func (s *Stream) checkMedia(m *Media) error {
	n, ok := jsonscan.Base64Len(m.Media.Payload)
	if !ok {
		return &DecodeError{Event: EventMedia, Err: ErrBadPayload}
	}
	m.Size = n
	return nil
}

// SendAudio sends a chunk of agent audio (base64 μ-law, passed through), followed by
// a mark when MarkInterval of audio has been sent since the last one, and returns n,
// the number of bytes of audio the chunk decodes to (it is measured to place the mark
// anyway). The last chunk of a run of audio needs EndAudio after it. It returns sent false without sending when the
// chunk belongs to a response whose audio was interrupted: a late delta of a
// cancelled response.
func (s *Stream) SendAudio(ctx context.Context, responseID, itemID string, payload []byte) (n int, sent bool, err error) {
	n, ok := jsonscan.Base64Len(payload)
	if !ok {
		return 0, false, ErrBadPayload
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	ref, ok := s.pb.Enqueue(responseID, itemID, n)
	if !ok {
		return n, false, nil
	}
	if err := s.conn.Write(ctx, func(dst []byte) []byte { return appendMedia(dst, s.sid, payload) }); err != nil {
		return n, false, fmt.Errorf("send media: %w", closeError(err))
	}
	if !ref.Due {
		return n, true, nil
	}
	return n, true, s.sendMark(ctx, ref)
}

// sendMark sends the mark ref. Caller holds s.sendMu.
func (s *Stream) sendMark(ctx context.Context, ref MarkRef) error {
	err := s.conn.Write(ctx, func(dst []byte) []byte {
		return s.traced(EventMark, appendMark(dst, s.sid, ref.Gen, ref.ItemID, ref.Offset))
	})
	if err != nil {
		return fmt.Errorf("send mark: %w", closeError(err))
	}
	return nil
}

// EndAudio ends a run of agent audio (an item's or a response's last delta was
// sent): it sends the mark of the audio sent since the last one, if any, so that
// Twilio confirms when the last of it has played.
func (s *Stream) EndAudio(ctx context.Context) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	ref, ok := s.pb.Flush()
	if !ok {
		return nil
	}
	return s.sendMark(ctx, ref)
}

// Interrupt cuts agent audio off: it ends the playback generation (refusing further
// deltas of responseID and of every response whose audio was sent), sends a clear when
// Twilio may still hold queued audio, and returns what the caller heard.
func (s *Stream) Interrupt(ctx context.Context, responseID string) (Interruption, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	in := s.pb.Interrupt(responseID)
	if !in.Pending {
		return in, nil
	}
	err := s.conn.Write(ctx, func(dst []byte) []byte {
		return s.traced(EventClear, appendClear(dst, s.sid))
	})
	if err != nil {
		return in, fmt.Errorf("send clear: %w", closeError(err))
	}
	return in, nil
}

// traced passes an outgoing frame to the trace hook (under the write lock, while the
// buffer is still this frame's) and returns it.
func (s *Stream) traced(event string, frame []byte) []byte {
	if t := s.trace.Load(); t != nil {
		(*t)(true, event, frame)
	}
	return frame
}

// WaitPlayed waits until all agent audio sent has been confirmed played by Twilio,
// first marking the end of the audio sent (EndAudio) so that the confirmation comes.
func (s *Stream) WaitPlayed(ctx context.Context) error {
	if err := s.EndAudio(ctx); err != nil {
		return err
	}
	return s.pb.WaitPlayed(ctx)
}

// Close closes the stream's WebSocket normally, which ends the <Connect> and lets
// Twilio continue with the TwiML after it (or hang up).
func (s *Stream) Close() error {
	return s.conn.Close(websocket.StatusNormalClosure, "call ended")
}

// CloseNow drops the WebSocket without the closing handshake.
func (s *Stream) CloseNow() error { return s.conn.CloseNow() }
