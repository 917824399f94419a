package twiliotest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/statewait"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// FrameBytes is one 20 ms Twilio media frame of μ-law.
const FrameBytes = 160

// Silence is a μ-law byte of silence.
const Silence = 0xFF

// CallerOptions configure a fake Twilio caller.
type CallerOptions struct {
	// URL is the media stream WebSocket, e.g. ws://127.0.0.1:5050/media-stream.
	URL string
	// Header is sent with the upgrade request (X-Twilio-Signature, for example).
	Header http.Header
	// CallSID, StreamSID and AccountSID default to generated values.
	CallSID, StreamSID, AccountSID string
	// Parameters become the start message's customParameters.
	Parameters map[string]string
	// FrameInterval paces outgoing media frames (default 20 ms, real time). A negative
	// value sends queued audio as fast as the socket takes it.
	FrameInterval time.Duration
	// Continuous sends silence whenever there is nothing to say, as Twilio does for the
	// whole call (only with a positive FrameInterval).
	Continuous bool
	// OmitSilence leaves out frames that are all silence, as a carrier with silence
	// suppression does: media.timestamp then jumps over them. Timestamps are always
	// the ms since the stream started of the audio a frame carries; with a positive
	// FrameInterval that clock runs in real time (20 ms a tick, sent or not), so a
	// caller that is not Continuous leaves gaps between what it says too.
	OmitSilence bool
	// PlayDelay is how long received audio waits in the phone leg (one network hop
	// and the jitter buffer) before the caller hears it; marks are echoed when the
	// audio before them has played, after this delay. Zero means DefaultPlayDelay, a
	// negative value none.
	PlayDelay time.Duration
	// OnSend, OnReceive and OnClear, when set, are told of each media frame just
	// before it is written, of each media frame received (with the playback position
	// of its first byte) and of each clear received: for a load generator that times
	// the relay. They run on the caller's goroutines, must not block and must not
	// keep the slices they are given.
	OnSend    func(frame []byte)
	OnReceive func(audio []byte, pos int64)
	OnClear   func(ClearRecord)
	// DiscardAudio keeps no copy of the audio sent and received (Sent and Received
	// are then empty; WaitReceived and playback still count every byte): for a load
	// generator whose calls would otherwise hold every byte of every call.
	DiscardAudio bool
}

// DefaultPlayDelay is the playback delay of a typical phone leg: a network hop of
// ~20 ms plus a 60 ms jitter buffer (carriers use 40–120 ms).
const DefaultPlayDelay = 80 * time.Millisecond

// Caller is a fake Twilio Media Streams client: a real WebSocket peer that sends
// connected, start, 20 ms μ-law media frames (optionally without the silent ones),
// DTMF and stop, and plays the audio it receives in real time at 8000 bytes/s after
// the phone leg's delay (PlayDelay), echoing each mark when the audio before it has
// played and every pending mark at once after a clear, as Twilio does.
type Caller struct {
	opts  CallerOptions
	ws    *websocket.Conn
	start time.Time
	seq   atomic.Int64
	local atomic.Bool // the caller ended the stream (hung up, closed or dropped it)

	wmu sync.Mutex // serializes writes

	say    chan []byte
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc

	changes       statewait.Changes
	mu            sync.Mutex
	sent          []byte // caller audio sent, in order
	omitted       int    // silent frames left out (OmitSilence)
	queued        int    // bytes of outgoing audio not yet sent
	received      []byte // every agent byte received (none kept with DiscardAudio)
	receivedBytes int
	runs          []run // playback history
	queue         []segment
	queuedEnd     int64 // stream position after everything received
	clears        []ClearRecord
	echoed        []string
	echoedPos     int64 // the audio position of the last mark echoed as played
	readErr       error
	closed        bool
	action        *ActionResult // what the <Connect> action answered (PlaceCall with FollowAction)
	done          chan struct{}
	wake          chan struct{}
	stall         time.Duration // Stall: how long the next message read waits
}

// run is a stretch of continuous playback: from position base at time start,
// advancing at 8 bytes/ms up to end.
type run struct {
	start     time.Time
	base, end int64
}

// segment is received audio or a mark, at a stream position.
type segment struct {
	pos  int64 // position after the audio, or of the mark
	mark string
}

// ClearRecord is a clear received from the bridge.
type ClearRecord struct {
	At     time.Time
	Played int64 // bytes played when it arrived
	Queued int64 // bytes that had been received
}

// DialCaller connects to the media stream URL and sends connected and start.
func DialCaller(ctx context.Context, opts CallerOptions) (*Caller, error) {
	if opts.FrameInterval == 0 {
		opts.FrameInterval = 20 * time.Millisecond
	}
	if opts.PlayDelay == 0 {
		opts.PlayDelay = DefaultPlayDelay
	}
	id := fmt.Sprintf("%016x", time.Now().UnixNano())
	if opts.CallSID == "" {
		opts.CallSID = "CA" + id
	}
	if opts.StreamSID == "" {
		opts.StreamSID = "MZ" + id
	}
	if opts.AccountSID == "" {
		opts.AccountSID = "AC" + id
	}
	ws, _, err := websocket.Dial(ctx, opts.URL, &websocket.DialOptions{HTTPHeader: opts.Header})
	if err != nil {
		return nil, fmt.Errorf("fake caller: dial %s: %w", opts.URL, err)
	}
	ws.SetReadLimit(1 << 20)
	cctx, cancel := context.WithCancel(context.Background())
	c := &Caller{opts: opts, ws: ws, start: time.Now(), say: make(chan []byte, 1024),
		ctx: cctx, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	if err := c.write(&twiliotransport.Connected{Protocol: "Call", Version: "1.0.0"}); err != nil {
		c.Drop()
		return nil, err
	}
	err = c.write(&twiliotransport.Start{SequenceNumber: c.nextSeq(), StreamSid: opts.StreamSID, Start: twiliotransport.StartInfo{
		AccountSid: opts.AccountSID, StreamSid: opts.StreamSID, CallSid: opts.CallSID, Tracks: []string{"inbound"},
		MediaFormat:      twiliotransport.MediaFormat{Encoding: "audio/x-mulaw", SampleRate: 8000, Channels: 1},
		CustomParameters: opts.Parameters,
	}})
	if err != nil {
		c.Drop()
		return nil, err
	}
	c.wg.Go(c.readLoop)
	c.wg.Go(c.playLoop)
	c.wg.Go(c.sendLoop)
	return c, nil
}

// CallSID returns the call's SID.
func (c *Caller) CallSID() string { return c.opts.CallSID }

func (c *Caller) nextSeq() twiliotransport.Counter {
	return twiliotransport.Counter(c.seq.Add(1))
}

func (c *Caller) write(f twiliotransport.Frame) error {
	data, err := twiliotransport.Marshal(f)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(context.Background(), websocket.MessageText, data)
}

// Say queues μ-law audio to send as 20 ms frames (the last one padded with silence).
func (c *Caller) Say(audio []byte) {
	c.mu.Lock()
	c.queued += len(audio)
	c.mu.Unlock()
	select {
	case c.say <- audio:
	case <-c.ctx.Done():
	}
}

// WaitSent waits until everything queued with Say has been sent.
func (c *Caller) WaitSent(ctx context.Context) error {
	return c.waitFor(ctx, "caller audio to be sent", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.queued == 0
	})
}

func (c *Caller) sendLoop() {
	var tick *time.Ticker
	if c.opts.FrameInterval > 0 {
		tick = time.NewTicker(c.opts.FrameInterval)
		defer tick.Stop()
	}
	var pending []byte
	chunk := 0
	var clock int64 // ms of stream time: the next frame's timestamp
	for {
		if len(pending) == 0 {
			if tick != nil && c.opts.Continuous {
				select {
				case pending = <-c.say:
				default:
				}
			} else {
				select {
				case pending = <-c.say:
				case <-c.ctx.Done():
					return
				}
			}
		}
		if tick != nil {
			select {
			case <-tick.C:
			case <-c.ctx.Done():
				return
			}
		}
		frame := bytes.Repeat([]byte{Silence}, FrameBytes)
		n := copy(frame, pending)
		pending = pending[n:]
		ts := clock
		if tick != nil || n > 0 {
			clock += FrameBytes / twiliotransport.BytesPerMs // the caller's clock runs, sent or not
		}
		if n == 0 && !c.opts.Continuous {
			continue
		}
		if c.opts.OmitSilence && isSilence(frame) {
			c.mu.Lock()
			c.omitted++
			c.queued = max(0, c.queued-n)
			c.mu.Unlock()
			c.notify()
			continue
		}
		chunk++
		if c.opts.OnSend != nil {
			c.opts.OnSend(frame)
		}
		err := c.write(&twiliotransport.Media{SequenceNumber: c.nextSeq(), StreamSid: c.opts.StreamSID, Media: twiliotransport.MediaPayload{
			Track: "inbound", Chunk: twiliotransport.Counter(chunk), Timestamp: twiliotransport.Counter(ts),
			Payload: twiliotransport.Payload(base64.StdEncoding.EncodeToString(frame)),
		}})
		if err != nil {
			return
		}
		c.mu.Lock()
		if !c.opts.DiscardAudio {
			c.sent = append(c.sent, frame...)
		}
		c.queued = max(0, c.queued-n)
		c.mu.Unlock()
		c.notify()
	}
}

func isSilence(frame []byte) bool {
	for _, b := range frame {
		if b != Silence {
			return false
		}
	}
	return true
}

// Omitted returns how many silent frames OmitSilence left out.
func (c *Caller) Omitted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.omitted
}

// SendDTMF sends a key press.
func (c *Caller) SendDTMF(digit string) error {
	return c.write(&twiliotransport.DTMF{SequenceNumber: c.nextSeq(), StreamSid: c.opts.StreamSID,
		DTMF: twiliotransport.DTMFInfo{Track: "inbound_track", Digit: digit}})
}

// Hangup sends stop and closes the WebSocket, as Twilio does when the caller hangs up.
func (c *Caller) Hangup() error {
	c.local.Store(true)
	err := c.write(&twiliotransport.Stop{SequenceNumber: c.nextSeq(), StreamSid: c.opts.StreamSID,
		Stop: twiliotransport.StopInfo{AccountSid: c.opts.AccountSID, CallSid: c.opts.CallSID}})
	c.Close()
	return err
}

// Close closes the WebSocket normally, without a stop message.
func (c *Caller) Close() {
	c.local.Store(true)
	c.cancel()
	c.ws.Close(websocket.StatusNormalClosure, "")
	c.wg.Wait()
}

// Drop drops the TCP connection without a close frame.
func (c *Caller) Drop() {
	c.local.Store(true)
	c.cancel()
	c.ws.CloseNow()
	c.wg.Wait()
}

func (c *Caller) readLoop() {
	defer func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.done)
		c.cancel()
		c.notify()
	}()
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		stall := c.stall
		c.stall = 0
		c.mu.Unlock()
		if stall > 0 {
			// The message, and those behind it, were held up on the way.
			select {
			case <-time.After(stall):
			case <-c.ctx.Done():
			}
		}
		f, err := twiliotransport.DecodeFrame(data)
		if err != nil {
			continue
		}
		switch f := f.(type) {
		case *twiliotransport.Media:
			audio, err := base64.StdEncoding.DecodeString(string(f.Media.Payload))
			if err != nil {
				continue
			}
			c.receive(audio)
		case *twiliotransport.Mark:
			c.mu.Lock()
			c.queue = append(c.queue, segment{pos: c.queuedEnd, mark: f.Mark.Name})
			c.mu.Unlock()
		case *twiliotransport.Clear:
			c.clear()
		}
		select {
		case c.wake <- struct{}{}:
		default:
		}
		c.notify()
	}
}

// receive queues agent audio for playback.
func (c *Caller) receive(audio []byte) {
	now := time.Now()
	c.mu.Lock()
	pos := c.queuedEnd
	c.receiveLocked(audio, now)
	c.mu.Unlock()
	if c.opts.OnReceive != nil {
		c.opts.OnReceive(audio, pos)
	}
}

func (c *Caller) receiveLocked(audio []byte, now time.Time) {
	c.receivedBytes += len(audio)
	if !c.opts.DiscardAudio {
		c.received = append(c.received, audio...)
	}
	if c.playedLocked(now) >= c.queuedEnd && (len(c.runs) == 0 || !c.runs[len(c.runs)-1].start.After(now)) {
		// Idle: this audio starts playing once it has crossed the leg and the jitter buffer.
		c.runs = append(c.runs, run{start: now.Add(max(c.opts.PlayDelay, 0)), base: c.queuedEnd})
	}
	c.queuedEnd += int64(len(audio))
	c.runs[len(c.runs)-1].end = c.queuedEnd
}

// SetPlayDelay changes the phone leg's delay (PlayDelay) for audio that arrives from
// now on after the queue ran dry: a network path that got slower, a jitter buffer
// that grew. Audio already playing keeps its timing; marks are still echoed only
// once the audio before them has played.
func (c *Caller) SetPlayDelay(d time.Duration) {
	c.mu.Lock()
	c.opts.PlayDelay = d
	c.mu.Unlock()
}

// Stall holds up the next message from the bridge, and those behind it, for d: a
// network hiccup on the phone leg, or a loaded peer reading late. Audio that arrives
// after the queue ran dry starts playing after the leg's delay, so the caller's
// playback stalls too.
func (c *Caller) Stall(d time.Duration) {
	c.mu.Lock()
	c.stall = d
	c.mu.Unlock()
}

// clear drops queued audio and echoes every pending mark at once.
func (c *Caller) clear() {
	now := time.Now()
	c.mu.Lock()
	played := c.playedLocked(now)
	rec := ClearRecord{At: now, Played: played, Queued: c.queuedEnd}
	c.clears = append(c.clears, rec)
	if n := len(c.runs); n > 0 {
		c.runs[n-1].end = played
	}
	c.queuedEnd = played
	var marks []string
	for _, s := range c.queue {
		if s.mark != "" {
			marks = append(marks, s.mark)
		}
	}
	c.queue = nil
	c.mu.Unlock()
	if c.opts.OnClear != nil {
		c.opts.OnClear(rec)
	}
	for _, m := range marks {
		c.echo(m, -1) // echoed, not played
	}
}

// echo sends a mark back; pos is where playback reached it (-1: echoed by a clear).
func (c *Caller) echo(name string, pos int64) {
	if c.write(&twiliotransport.Mark{SequenceNumber: c.nextSeq(), StreamSid: c.opts.StreamSID, Mark: twiliotransport.MarkInfo{Name: name}}) == nil {
		c.mu.Lock()
		c.echoed = append(c.echoed, name)
		c.echoedPos = max(c.echoedPos, pos)
		c.mu.Unlock()
		c.notify()
	}
}

// EchoedThrough returns the audio position (bytes of agent audio from the start of
// the stream) of the last mark echoed because playback reached it. The echo was
// written before anything the caller sends after this returns: once the bridge has
// relayed such a frame, it has read the echo.
func (c *Caller) EchoedThrough() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.echoedPos
}

// playLoop echoes marks when playback reaches them.
func (c *Caller) playLoop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		c.mu.Lock()
		played := c.playedLocked(now)
		var due []segment
		for len(c.queue) > 0 && c.queue[0].pos <= played {
			if c.queue[0].mark != "" {
				due = append(due, c.queue[0])
			}
			c.queue = c.queue[1:]
		}
		wait := time.Hour
		if len(c.queue) > 0 && len(c.runs) > 0 {
			r := c.runs[len(c.runs)-1]
			at := r.start.Add(time.Duration(c.queue[0].pos-r.base) * time.Millisecond / 8)
			wait = max(at.Sub(now), 0)
		}
		c.mu.Unlock()
		for _, m := range due {
			c.echo(m.mark, m.pos)
		}
		if len(due) > 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.wake:
		case <-c.ctx.Done():
			return
		}
	}
}

// playedLocked is the playback position at t. Caller holds c.mu.
func (c *Caller) playedLocked(t time.Time) int64 {
	return playedAt(c.runs, t)
}

func playedAt(runs []run, t time.Time) int64 {
	var pos int64
	for _, r := range runs {
		if r.start.After(t) {
			break
		}
		pos = min(r.base+t.Sub(r.start).Microseconds()*8/1000, r.end)
	}
	return pos
}

// PlayedAt returns how many bytes of agent audio had played at t.
func (c *Caller) PlayedAt(t time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return playedAt(c.runs, t)
}

// PlayedOut reports whether everything received (and not cleared) has played by t.
func (c *Caller) PlayedOut(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return playedAt(c.runs, t) >= c.queuedEnd
}

// Received returns a copy of all agent audio received (μ-law).
func (c *Caller) Received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.received...)
}

// Sent returns a copy of all caller audio sent (μ-law, padding included).
func (c *Caller) Sent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.sent...)
}

// WaitClears waits until n clears were received.
func (c *Caller) WaitClears(ctx context.Context, n int) error {
	return c.waitFor(ctx, fmt.Sprintf("%d clears", n), func() bool { return len(c.Clears()) >= n })
}

// Clears returns the clears received.
func (c *Caller) Clears() []ClearRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ClearRecord(nil), c.clears...)
}

// Echoed returns the mark names echoed so far, in order.
func (c *Caller) Echoed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.echoed...)
}

// Done is closed when the bridge (or the caller) closed the stream.
func (c *Caller) Done() <-chan struct{} { return c.done }

// CloseStatus returns the close code the bridge sent, or -1.
func (c *Caller) CloseStatus() websocket.StatusCode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return websocket.CloseStatus(c.readErr)
}

// WaitReceived waits until at least n bytes of agent audio were received.
func (c *Caller) WaitReceived(ctx context.Context, n int) error {
	return c.waitFor(ctx, fmt.Sprintf("%d bytes of agent audio", n), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.receivedBytes >= n
	})
}

// WaitClosed waits until the stream is closed.
func (c *Caller) WaitClosed(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return errors.New("fake caller: the bridge did not close the stream")
	}
}

// WaitFor waits until cond holds, checked after every change.
func (c *Caller) WaitFor(ctx context.Context, what string, cond func() bool) error {
	return c.waitFor(ctx, what, cond)
}

func (c *Caller) waitFor(ctx context.Context, what string, cond func() bool) error {
	return c.changes.Wait(ctx, "fake caller", what, cond)
}

func (c *Caller) notify() { c.changes.Notify() }

func (c *Caller) setAction(r ActionResult) {
	c.mu.Lock()
	c.action = &r
	c.mu.Unlock()
	c.notify()
}

// WaitAction waits until the <Connect> action was requested after the bridge
// closed the stream (PlaceCall with FollowAction) and returns its answer.
func (c *Caller) WaitAction(ctx context.Context) (ActionResult, error) {
	var r ActionResult
	err := c.waitFor(ctx, "the <Connect> action's answer", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.action != nil {
			r = *c.action
		}
		return c.action != nil
	})
	return r, err
}

// SendRaw writes data as a text message as it is: a malformed frame, for tests.
func (c *Caller) SendRaw(data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(context.Background(), websocket.MessageText, data)
}
