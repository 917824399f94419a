package twiliotransport

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callagent/callagent/internal/jsonscan"
)

// BytesPerMs is μ-law at 8 kHz: one byte per sample, eight samples a millisecond.
const BytesPerMs = 8

// Playback tracks what the caller has heard of the audio sent to Twilio.
//
// A mark follows the first chunk of each item, a chunk that completes MarkInterval of
// audio since the last mark, and the last chunk of a run of audio (Flush): a mark per chunk would
// cost two more messages per 20 ms delta. A mark is named after its generation, its
// item and the item's byte offset at the end of the chunk. Twilio echoes a mark when
// the audio before it has played, so an echo pins the playback position at that
// moment; between echoes the position advances at 8 bytes/ms, never past what was
// sent. The caller hears audio one network hop plus Twilio's jitter buffer after it
// was sent: Playback learns that delay from the echoes (each echo, minus the time its
// audio would have finished playing had it started when sent, is an upper bound of it;
// the estimate is the smallest of the recent ones, before any echo AssumedDelay), and
// audio sent to a queue that had run dry starts playing only after it. Every error is
// on the side of having heard less. A clear starts a new generation: echoes of older marks (Twilio echoes every
// pending mark at once after a clear) are ignored, and deltas that still arrive for
// the responses whose audio was cleared are refused.
//
// Playback is safe for concurrent use.
type Playback struct {
	mu  sync.Mutex
	now func() time.Time

	gen    uint32
	sent   int64 // bytes sent in this generation
	marked int64 // position of the last mark of this generation
	acked  int64 // position of the last echoed mark of this generation
	// The position was anchorPos at anchorAt: set by a mark echo, or when audio is sent
	// to a queue that had run dry.
	anchorPos int64
	anchorAt  time.Time
	items     []span // the items of this generation, in the order they were sent

	// The playback delay, learnt from echoes. schedEnd is when everything sent would
	// have finished playing had each chunk started when sent (or after the one before);
	// pend holds that time for the latest marks, to compare with their echoes.
	schedEnd time.Time
	runPos   int64     // where the current run of the send schedule began: audio sent
	runAt    time.Time // to a queue that had (on that schedule) run dry, and when
	pend     [32]pendingMark
	pendN    int // marks in pend (the newest pendN, ring indexed by pendNext)
	pendNext int
	samples  [16]time.Duration // recent delay samples, ring
	sampleN  int

	live []string // response IDs with audio in this generation

	stale     [16]string // responses whose audio was cleared, newest last
	staleNext int

	idle chan struct{} // closed when everything sent has been played (or cleared)
}

type pendingMark struct {
	pos    int64
	finish time.Time
}

// AssumedDelay is the playback delay assumed before the first echo: a phone leg's
// hop and jitter buffer, on the long side so that the first estimate errs low.
const AssumedDelay = 100 * time.Millisecond

// delay is the learnt playback delay. Caller holds p.mu.
func (p *Playback) delay() time.Duration {
	if p.sampleN == 0 {
		return AssumedDelay
	}
	d := p.samples[0]
	for _, s := range p.samples[1:min(p.sampleN, len(p.samples))] {
		d = min(d, s)
	}
	return d
}

// learn compares the echo of the mark at pos, at now, with when its audio would have
// finished playing from the send. Caller holds p.mu.
func (p *Playback) learn(pos int64, now time.Time) {
	for k := 0; k < p.pendN; k++ {
		i := (p.pendNext - p.pendN + k + len(p.pend)) % len(p.pend)
		if p.pend[i].pos != pos {
			continue
		}
		p.samples[p.sampleN%len(p.samples)] = max(now.Sub(p.pend[i].finish), 0)
		p.sampleN++
		p.pendN -= k + 1 // this mark and the older ones are done
		return
	}
}

// DelayEstimate is the playback delay Playback currently assumes.
func (p *Playback) DelayEstimate() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delay()
}

type span struct {
	itemID, responseID string
	start, end         int64
}

// NewPlayback returns a tracker that reads time from now (time.Now when nil).
func NewPlayback(now func() time.Time) *Playback {
	if now == nil {
		now = time.Now
	}
	return &Playback{now: now}
}

// MarkInterval is the audio between two marks (100 ms): an echo at least this often
// keeps the playback estimate pinned while costing a fifth of a mark per 20 ms delta.
const MarkInterval = 100 * BytesPerMs

// Enqueue records n bytes of audio for item of response about to be sent, and
// returns the mark that goes after it; m.Due reports whether it must be sent now:
// the first chunk of an item (its echo times the answer's playout, and a new item
// often follows a queue that ran dry) and a chunk that completes MarkInterval of audio
// since the last mark. ok is false when the response's audio
// was cleared: the chunk is a late delta of a cancelled response and must not be sent.
func (p *Playback) Enqueue(responseID, itemID string, n int) (m MarkRef, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isStale(responseID) {
		return MarkRef{}, false
	}
	now := p.now()
	at := p.scheduledAt(now)
	dry := at >= p.sent
	// A shallow queue (less than MarkInterval ahead of the caller) can run dry at
	// the next late chunk, and the caller's playback then stalls where no echo
	// shows it: each chunk sent to it is marked, so an unechoed mark is never more
	// than a chunk ahead. Audio sent well ahead (a model answering faster than real
	// time) keeps one mark per MarkInterval.
	shallow := p.sent-at < MarkInterval
	if dry {
		// Twilio's queue has run dry: this audio starts playing once it has crossed
		// the phone leg.
		p.anchorPos, p.anchorAt = p.sent, now.Add(p.delay())
	}
	if p.schedEnd.Before(now) {
		p.schedEnd = now
		p.runPos, p.runAt = p.sent, now
	}
	p.schedEnd = p.schedEnd.Add(time.Duration(n) * time.Millisecond / BytesPerMs)
	var s *span
	first := false
	if k := len(p.items); k > 0 && p.items[k-1].itemID == itemID {
		s = &p.items[k-1]
	} else {
		first = true
		p.items = append(p.items, span{itemID: itemID, responseID: responseID, start: p.sent, end: p.sent})
		s = &p.items[len(p.items)-1]
		if !contains(p.live, responseID) {
			p.live = append(p.live, responseID)
		}
	}
	p.sent += int64(n)
	s.end = p.sent
	p.busy()
	m = MarkRef{Gen: p.gen, ItemID: itemID, Offset: s.end - s.start}
	if first || shallow || p.sent-p.marked >= MarkInterval {
		m.Due = true
		p.mark()
	}
	return m, true
}

// Flush returns the mark of the audio sent since the last mark, for the end of a run
// of audio (an item's or a response's last delta, or before waiting for playback):
// without it the last echo, which WaitPlayed needs, would never come. ok is false
// when every byte sent is already followed by a mark.
func (p *Playback) Flush() (m MarkRef, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.marked == p.sent || len(p.items) == 0 {
		return MarkRef{}, false
	}
	s := p.items[len(p.items)-1]
	p.mark()
	return MarkRef{Gen: p.gen, ItemID: s.itemID, Offset: s.end - s.start, Due: true}, true
}

// mark notes that a mark follows everything sent, to compare its echo with the send
// schedule. Caller holds p.mu.
func (p *Playback) mark() {
	p.marked = p.sent
	p.pend[p.pendNext] = pendingMark{pos: p.sent, finish: p.schedEnd}
	p.pendNext = (p.pendNext + 1) % len(p.pend)
	p.pendN = min(p.pendN+1, len(p.pend))
}

// Ack handles the echo of a mark name. It reports whether the echo counted: echoes
// from before a clear, and names this tracker did not make, do not.
func (p *Playback) Ack(name string) bool {
	ref, ok := parseMarkName(name)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ref.Gen != p.gen {
		return false
	}
	for i := range p.items {
		s := &p.items[i]
		if ref.ItemID != s.itemID {
			continue
		}
		pos := s.start + ref.Offset
		if ref.Offset < 0 || pos > s.end || pos < p.acked {
			return false
		}
		now := p.now()
		p.learn(pos, now)
		p.acked = pos
		p.anchorPos, p.anchorAt = pos, now
		p.forgetEchoed()
		p.prune()
		if p.acked == p.sent {
			p.drained()
		}
		return true
	}
	return false
}

// prune forgets items that were heard in full, so a long call without interruptions
// keeps a short list. The last item is kept: its span is still growing.
func (p *Playback) prune() {
	k := 0
	for k < len(p.items)-1 && p.items[k].end <= p.acked {
		k++
	}
	if k > 0 {
		p.items = append(p.items[:0], p.items[k:]...)
	}
}

// positionAt estimates the playback position at t: never past the first mark whose
// echo has not come. Twilio echoes a mark once the audio before it has played, so
// until then the caller may not have heard past it: audio that reached the phone leg
// late (a network hiccup, a loaded peer) starts or resumes later than the send
// schedule and the learnt delay say, and the clock alone would claim it heard. The
// first chunk of each item and of each run after the queue ran dry is followed by
// a mark, so such a claim is bounded by one chunk at a run's start and by
// MarkInterval within a run. Caller holds p.mu.
func (p *Playback) positionAt(t time.Time) int64 {
	pos := p.scheduledAt(t)
	if p.pendN > 0 {
		pos = min(pos, max(p.pend[(p.pendNext-p.pendN+len(p.pend))%len(p.pend)].pos, p.acked))
	}
	return pos
}

// forgetEchoed drops the pending marks an echo has passed (an echo whose mark had
// left the ring leaves older ones). Caller holds p.mu.
func (p *Playback) forgetEchoed() {
	for p.pendN > 0 && p.pend[(p.pendNext-p.pendN+len(p.pend))%len(p.pend)].pos <= p.acked {
		p.pendN--
	}
}

// scheduledAt estimates the playback position at t from the last echo (or the
// start of the run) and the send schedule, as if the audio had reached the phone
// leg on time. Caller holds p.mu.
func (p *Playback) scheduledAt(t time.Time) int64 {
	pos := p.anchorPos
	if d := t.Sub(p.anchorAt); !p.anchorAt.IsZero() && d > 0 {
		// Microseconds, so the estimate is not quantized to whole milliseconds.
		pos += d.Microseconds() * BytesPerMs / 1000
	}
	if !p.runAt.IsZero() {
		// Never ahead of the send schedule delayed by the phone leg: an echo can
		// only prove what played before the queue last ran dry.
		bound := p.runPos
		if d := t.Sub(p.runAt) - p.delay(); d > 0 {
			bound += d.Microseconds() * BytesPerMs / 1000
		}
		pos = min(pos, max(bound, p.acked))
	}
	return min(pos, p.sent)
}

// Pending reports whether audio was sent that Twilio has not confirmed playing.
func (p *Playback) Pending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent > p.acked
}

// Playing reports whether the caller is estimated to be hearing agent audio now.
func (p *Playback) Playing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.positionAt(p.now()) < p.sent
}

// Interrupt ends the current generation, as a clear does, and returns what the caller
// heard of each item. responseID (if not empty) and every response with audio in the
// generation are marked stale, so their late deltas are refused.
func (p *Playback) Interrupt(responseID string) Interruption {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	heard := p.positionAt(now)
	in := Interruption{
		At:         now,
		Generation: p.gen,
		SentBytes:  p.sent,
		HeardBytes: heard,
		Pending:    p.sent > p.acked,
	}
	for _, s := range p.items {
		in.Items = append(in.Items, ItemPlayback{
			ItemID:     s.itemID,
			ResponseID: s.responseID,
			SentBytes:  s.end - s.start,
			HeardBytes: min(max(heard-s.start, 0), s.end-s.start),
		})
	}
	for _, r := range p.live {
		p.markStale(r)
	}
	if responseID != "" && !contains(p.live, responseID) {
		p.markStale(responseID)
	}
	p.gen++
	p.sent, p.marked, p.acked, p.anchorPos, p.anchorAt = 0, 0, 0, 0, time.Time{}
	p.schedEnd, p.pendN, p.runPos, p.runAt = time.Time{}, 0, 0, time.Time{}
	p.items, p.live = p.items[:0], p.live[:0]
	p.drained()
	return in
}

// busy notes that audio is queued. Caller holds p.mu.
func (p *Playback) busy() {
	if p.idle == nil {
		return // nobody waits; drained makes a fresh channel when needed
	}
	select {
	case <-p.idle:
		p.idle = make(chan struct{}) // was drained: waiters from now on wait again
	default:
	}
}

// drained wakes whoever waits for playback to finish. Caller holds p.mu.
func (p *Playback) drained() {
	if p.idle == nil {
		return
	}
	select {
	case <-p.idle:
	default:
		close(p.idle)
	}
}

// WaitPlayed waits until every chunk sent has been confirmed played by a mark's
// echo (or cleared): before hanging up after a goodbye, say. The last chunk must be
// followed by a mark (Flush), or the wait lasts until a clear or ctx ends.
func (p *Playback) WaitPlayed(ctx context.Context) error {
	p.mu.Lock()
	if p.sent == p.acked {
		p.mu.Unlock()
		return nil
	}
	if p.idle == nil {
		p.idle = make(chan struct{})
	}
	ch := p.idle
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Playback) markStale(responseID string) {
	if p.isStale(responseID) {
		return
	}
	p.stale[p.staleNext%len(p.stale)] = responseID
	p.staleNext++
}

func (p *Playback) isStale(responseID string) bool {
	for _, r := range p.stale {
		if r != "" && r == responseID {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Interruption is what the caller heard when playback was cut off.
type Interruption struct {
	At         time.Time
	Generation uint32
	SentBytes  int64 // audio sent in the generation
	HeardBytes int64 // audio estimated played, never more than SentBytes
	// Pending is true when Twilio had not confirmed all of it: a clear was needed.
	Pending bool
	// Items are the generation's items in order, with what was heard of each.
	Items []ItemPlayback
}

// ItemPlayback is what was sent and heard of one assistant audio item.
type ItemPlayback struct {
	ItemID     string
	ResponseID string
	SentBytes  int64
	HeardBytes int64
}

// HeardMs is the heard audio in whole milliseconds, rounded down so it never exceeds
// the item's audio (the API rejects a truncation past the end).
func (i ItemPlayback) HeardMs() int { return int(i.HeardBytes / BytesPerMs) }

// FullyHeard reports whether every byte sent of the item was heard.
func (i ItemPlayback) FullyHeard() bool { return i.HeardBytes >= i.SentBytes }

// MarkRef identifies a mark: generation, item and the item's byte offset at the mark.
type MarkRef struct {
	Gen    uint32
	ItemID string
	Offset int64
	// Due is set when the mark must be sent after its chunk; Enqueue returns the
	// others only to name the position.
	Due bool
}

// appendMarkName appends "gen:item:offset", with the item escaped for a JSON string.
func appendMarkName(dst []byte, gen uint32, itemID string, offset int64) []byte {
	dst = strconv.AppendUint(dst, uint64(gen), 10)
	dst = append(dst, ':')
	dst = jsonscan.AppendEscaped(dst, itemID)
	dst = append(dst, ':')
	return strconv.AppendInt(dst, offset, 10)
}

// parseMarkName reads "gen:item:offset". The item may itself contain colons, so the
// generation is cut at the first one and the offset at the last.
func parseMarkName(name string) (MarkRef, bool) {
	i := strings.IndexByte(name, ':')
	j := strings.LastIndexByte(name, ':')
	if i <= 0 || j <= i || j == len(name)-1 {
		return MarkRef{}, false
	}
	gen, err := strconv.ParseUint(name[:i], 10, 32)
	if err != nil {
		return MarkRef{}, false
	}
	off, err := strconv.ParseInt(name[j+1:], 10, 64)
	if err != nil || off < 0 {
		return MarkRef{}, false
	}
	return MarkRef{Gen: uint32(gen), ItemID: name[i+1 : j], Offset: off}, true
}
