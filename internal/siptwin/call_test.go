package siptwin

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/statewait"
)

// A call's transitions: only a ringing call is accepted or rejected, only an
// accepted one referred or attached; ending it closes Done and every sideband.
func TestCallLife(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var closers sync.WaitGroup
	var mu sync.Mutex
	var closed []string
	closeConn := func(s string) { mu.Lock(); closed = append(closed, s); mu.Unlock() }

	c := New[string, int]("rtc_1", "wh_1", new(statewait.Changes), &closers)
	c.Delivered(200)
	if err := c.Attach("early", nil); err == nil || c.Refer("sip:x@y", closeConn) {
		t.Fatal("a ringing call was attached or referred")
	}
	if !c.Accept([]byte(`{"type":"realtime"}`)) || c.Accept([]byte(`{}`)) || c.Reject(486, closeConn) {
		t.Fatal("accept once, then neither accept nor reject")
	}
	if s, err := c.Accepted(ctx); err != nil || string(s) != `{"type":"realtime"}` {
		t.Fatalf("accepted %s, %v", s, err)
	}
	var got string
	if err := c.Attach("sb1", func(s json.RawMessage) error { got = string(s); return nil }); err != nil || got != `{"type":"realtime"}` {
		t.Fatalf("attach: %v, session %q", err, got)
	}
	if sb, err := c.Sideband(ctx); err != nil || sb != "sb1" {
		t.Fatalf("sideband %q, %v", sb, err)
	}
	if !c.Refer("tel:+14155550199", closeConn) || c.End("", Ended, true, closeConn) {
		t.Fatal("refer, then nothing more")
	}
	<-c.Done()
	closers.Wait()
	if c.State() != Referred || c.ReferredTo() != "tel:+14155550199" || c.HungUp() || len(closed) != 1 || closed[0] != "sb1" ||
		len(c.Deliveries()) != 1 {
		t.Fatalf("state %s, referred to %q, hung up %v, closed %v", c.State(), c.ReferredTo(), c.HungUp(), closed)
	}

	r := New[string, int]("rtc_2", "wh_2", new(statewait.Changes), &closers)
	r.RingFor(time.Hour, func() {})
	if !r.Reject(603, closeConn) {
		t.Fatal("reject a ringing call")
	}
	if st, ok := r.Rejected(); !ok || st != 603 || r.InProgress() {
		t.Fatalf("rejected %d %v, in progress %v", st, ok, r.InProgress())
	}
	if _, err := r.Accepted(ctx); err == nil {
		t.Fatal("a rejected call reads as accepted")
	}
}
