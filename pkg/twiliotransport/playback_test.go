package twiliotransport

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clock is a manual clock for the tracker.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestPlayback() (*Playback, *clock) {
	c := &clock{t: time.Unix(1000, 0)}
	return NewPlayback(c.now), c
}

func markName(r MarkRef) string { return string(appendMarkName(nil, r.Gen, r.ItemID, r.Offset)) }

func mustEnqueue(t *testing.T, p *Playback, resp, item string, n int) MarkRef {
	t.Helper()
	r, ok := p.Enqueue(resp, item, n)
	if !ok {
		t.Fatalf("Enqueue(%s, %s, %d) refused", resp, item, n)
	}
	return r
}

func TestHeardBetweenMarks(t *testing.T) {
	p, c := newTestPlayback()
	m1 := mustEnqueue(t, p, "r1", "i1", 1600) // 200 ms
	m2 := mustEnqueue(t, p, "r1", "i1", 1600)
	if m1.Offset != 1600 || m2.Offset != 3200 || m1.Gen != 0 {
		t.Fatalf("mark refs %+v %+v", m1, m2)
	}
	// Before any echo the phone leg's delay is assumed: nothing is heard during it.
	c.advance(AssumedDelay)
	if in := p.snapshot(); in != 0 {
		t.Fatalf("heard before the audio crossed the leg = %d bytes, want 0", in)
	}
	c.advance(50 * time.Millisecond)
	if in := p.snapshot(); in != 400 {
		t.Fatalf("heard 50 ms after the delay = %d bytes, want 400", in)
	}
	// The first mark echoes late (Twilio's jitter buffer): the position is corrected
	// down to the mark and advances from the moment of the echo.
	c.advance(300*time.Millisecond - AssumedDelay)
	if !p.Ack(markName(m1)) {
		t.Fatal("echo not counted")
	}
	if got := p.snapshot(); got != 1600 {
		t.Fatalf("heard at the echo = %d, want 1600", got)
	}
	c.advance(15*time.Millisecond + 500*time.Microsecond)
	if got := p.snapshot(); got != 1600+124 {
		t.Fatalf("heard 15.5 ms after the echo = %d, want %d (not quantized to the mark)", got, 1600+124)
	}
	// Never more than was sent.
	c.advance(10 * time.Second)
	if got := p.snapshot(); got != 3200 {
		t.Fatalf("heard long after = %d, want the 3200 sent", got)
	}
	if !p.Pending() {
		t.Fatal("unconfirmed audio not pending")
	}
	p.Ack(markName(m2))
	if p.Pending() || p.Playing() {
		t.Fatal("all marks echoed but still pending or playing")
	}
}

// snapshot is the heard estimate now, for tests.
func (p *Playback) snapshot() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.positionAt(p.now())
}

func TestAudioAfterDrainStartsNow(t *testing.T) {
	p, c := newTestPlayback()
	m1 := mustEnqueue(t, p, "r1", "i1", 800) // 100 ms
	c.advance(300 * time.Millisecond)        // played out; its echo is still in flight
	mustEnqueue(t, p, "r2", "i2", 800)
	c.advance(AssumedDelay)
	if got := p.snapshot(); got != 800 {
		t.Fatalf("heard = %d, want 800: new audio after a drained queue is not heard before the leg's delay", got)
	}
	c.advance(20 * time.Millisecond)
	if got := p.snapshot(); got != 800 {
		t.Fatalf("heard = %d, want 800: nothing past a mark whose echo has not come", got)
	}
	if !p.Ack(markName(m1)) {
		t.Fatal("echo refused")
	}
}

// The playback delay is learnt from echoes: the smallest recent gap between an echo
// and when its audio would have finished had it played from the send.
func TestDelayLearntFromEchoes(t *testing.T) {
	p, c := newTestPlayback()
	m1 := mustEnqueue(t, p, "r1", "i1", 800) // 100 ms
	m2 := mustEnqueue(t, p, "r1", "i1", 800)
	c.advance(100*time.Millisecond + 70*time.Millisecond)
	p.Ack(markName(m1))
	if d := p.DelayEstimate(); d != 70*time.Millisecond {
		t.Fatalf("delay %v after one echo, want 70ms", d)
	}
	c.advance(100*time.Millisecond + 20*time.Millisecond) // a late echo: an outlier up
	p.Ack(markName(m2))
	if d := p.DelayEstimate(); d != 70*time.Millisecond {
		t.Fatalf("delay %v, want the smallest sample, 70ms", d)
	}
	c.advance(time.Second) // drained
	mustEnqueue(t, p, "r2", "i2", 800)
	c.advance(70*time.Millisecond + 10*time.Millisecond)
	if got := p.snapshot(); got != 1600+80 {
		t.Fatalf("heard %d, want %d: new audio starts after the learnt delay", got, 1600+80)
	}
	// A clear keeps what was learnt: the delay belongs to the call.
	p.Interrupt("")
	if d := p.DelayEstimate(); d != 70*time.Millisecond {
		t.Fatalf("delay %v after a clear", d)
	}
}

func TestInterruptTruncatesEachItem(t *testing.T) {
	p, c := newTestPlayback()
	a := mustEnqueue(t, p, "r1", "A", 2400) // 300 ms
	mustEnqueue(t, p, "r1", "B", 800)
	mustEnqueue(t, p, "r2", "C", 800)
	c.advance(AssumedDelay + 100*time.Millisecond)
	in := p.Interrupt("r3")
	if !in.Pending || in.SentBytes != 4000 || in.HeardBytes != 800 {
		t.Fatalf("interruption %+v", in)
	}
	want := []ItemPlayback{
		{ItemID: "A", ResponseID: "r1", SentBytes: 2400, HeardBytes: 800},
		{ItemID: "B", ResponseID: "r1", SentBytes: 800, HeardBytes: 0},
		{ItemID: "C", ResponseID: "r2", SentBytes: 800, HeardBytes: 0},
	}
	if len(in.Items) != len(want) {
		t.Fatalf("items %+v", in.Items)
	}
	for i := range want {
		if in.Items[i] != want[i] {
			t.Errorf("item %d = %+v, want %+v", i, in.Items[i], want[i])
		}
	}
	if in.Items[0].HeardMs() != 100 || in.Items[1].HeardMs() != 0 {
		t.Errorf("HeardMs = %d, %d", in.Items[0].HeardMs(), in.Items[1].HeardMs())
	}
	// Twilio echoes the pending marks right after the clear: they must not count.
	if p.Ack(markName(a)) {
		t.Fatal("a mark echoed after the clear counted as played")
	}
	// Late deltas of every interrupted response are refused, new responses play.
	for _, r := range []string{"r1", "r2", "r3"} {
		if _, ok := p.Enqueue(r, "late", 160); ok {
			t.Errorf("late delta of cancelled %s accepted", r)
		}
	}
	m := mustEnqueue(t, p, "r4", "D", 160)
	if m.Gen != 1 || m.Offset != 160 {
		t.Fatalf("new generation mark %+v", m)
	}
	c.advance(AssumedDelay + 10*time.Millisecond)
	if got := p.snapshot(); got != 80 {
		t.Fatalf("new generation heard %d, want 80", got)
	}
}

func TestInterruptWhenNothingPending(t *testing.T) {
	p, c := newTestPlayback()
	m := mustEnqueue(t, p, "r1", "A", 160)
	c.advance(20 * time.Millisecond)
	p.Ack(markName(m))
	in := p.Interrupt("r1")
	if in.Pending {
		t.Fatal("clear requested with nothing queued")
	}
	if len(in.Items) != 1 || !in.Items[0].FullyHeard() {
		t.Fatalf("items %+v", in.Items)
	}
}

func TestAckRejectsForeignAndBackwardMarks(t *testing.T) {
	p, c := newTestPlayback()
	m1 := mustEnqueue(t, p, "r1", "A", 800)
	m2 := mustEnqueue(t, p, "r1", "A", 800)
	c.advance(200 * time.Millisecond)
	for _, name := range []string{"", "hello", "0:B:800", "0:A:99999", "x:A:1", "0:A:-1", "7:A:800"} {
		if p.Ack(name) {
			t.Errorf("Ack(%q) counted", name)
		}
	}
	if !p.Ack(markName(m2)) || p.Ack(markName(m1)) {
		t.Fatal("out-of-order echo handling wrong")
	}
}

func TestPruneKeepsListShort(t *testing.T) {
	p, c := newTestPlayback()
	for i := range 100 {
		item := "item_" + strings.Repeat("x", i%3) + string(rune('a'+i%26))
		m := mustEnqueue(t, p, "r", item+string(rune('0'+i/26)), 160)
		c.advance(20 * time.Millisecond)
		p.Ack(markName(m))
	}
	if len(p.items) > 1 {
		t.Fatalf("%d items kept after all were heard", len(p.items))
	}
}

func TestMarkNames(t *testing.T) {
	for _, r := range []MarkRef{{Gen: 0, ItemID: "item_1", Offset: 160}, {Gen: 4294967295, ItemID: "a:b:c"}, {Gen: 3, ItemID: `q"\`, Offset: 99}} {
		name := markName(r)
		// The name is written already escaped for JSON; decode it as Twilio would echo it.
		got, ok := parseMarkName(unescape(t, name))
		if !ok || got != r {
			t.Errorf("parse(%q) = %+v %v, want %+v", name, got, ok, r)
		}
	}
}

func unescape(t *testing.T, s string) string {
	t.Helper()
	var out string
	if err := jsonUnmarshal(`"`+s+`"`, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A mark name reads back as what it was made of, whatever the item ID holds
// (colons included); any other name parses or not, without panicking.
func FuzzParseMarkName(f *testing.F) {
	f.Add(uint32(0), "item", int64(160), "0:item:160")
	f.Add(uint32(12), "a:b", int64(0), "12:a:b:0")
	f.Add(uint32(1), "", int64(5), "::")
	f.Fuzz(func(t *testing.T, gen uint32, item string, offset int64, other string) {
		parseMarkName(other)
		if offset < 0 {
			return
		}
		name := strconv.FormatUint(uint64(gen), 10) + ":" + item + ":" + strconv.FormatInt(offset, 10)
		r, ok := parseMarkName(name)
		if !ok || r != (MarkRef{Gen: gen, ItemID: item, Offset: offset}) {
			t.Fatalf("parse(%q) = %+v, %v", name, r, ok)
		}
	})
}

func TestWaitPlayed(t *testing.T) {
	p, c := newTestPlayback()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.WaitPlayed(ctx); err != nil {
		t.Fatal("nothing sent, yet WaitPlayed waits:", err)
	}
	m1 := mustEnqueue(t, p, "r", "A", 800)
	m2 := mustEnqueue(t, p, "r", "A", 800)
	done := make(chan error, 1)
	go func() { done <- p.WaitPlayed(ctx) }()
	c.advance(time.Second) // time alone does not count: only echoes confirm playback
	p.Ack(markName(m1))
	select {
	case <-done:
		t.Fatal("WaitPlayed returned before the last mark was echoed")
	case <-time.After(20 * time.Millisecond):
	}
	p.Ack(markName(m2))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// New audio makes it wait again; an interruption releases it.
	mustEnqueue(t, p, "r2", "B", 800)
	go func() { done <- p.WaitPlayed(ctx) }()
	time.Sleep(10 * time.Millisecond)
	p.Interrupt("r2")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancelShort()
	mustEnqueue(t, p, "r3", "C", 800)
	if err := p.WaitPlayed(short); err == nil {
		t.Fatal("WaitPlayed ignored its context")
	}
}
