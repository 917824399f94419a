package cmd

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/session"
)

// questions is the approver's terminal: it says when a question was asked.
type questions struct {
	mu    sync.Mutex
	b     bytes.Buffer
	asked chan struct{}
}

func (q *questions) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if bytes.Contains(p, []byte("? allow")) {
		q.asked <- struct{}{}
	}
	return q.b.Write(p)
}

func (q *questions) String() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.b.String()
}

func TestTerminalApprover(t *testing.T) {
	leakcheck.Check(t)
	req := session.ApprovalRequest{CallSID: "CA1", Name: "refund", Arguments: `{"amount":20,"note":"\u001b[2J"}`}
	ctx := context.Background()

	in, w := io.Pipe()
	out := &questions{asked: make(chan struct{}, 8)}
	a := &terminalApprover{in: in, out: out, tty: true}
	answer := func(s string) {
		go func() {
			<-out.asked
			w.Write([]byte(s))
		}()
	}
	answer("y\n")
	if ok, err := a.Approve(ctx, req); !ok || err != nil {
		t.Fatalf("y: %v %v", ok, err)
	}
	answer("nope\n")
	if ok, _ := a.Approve(ctx, req); ok {
		t.Fatal("an answer other than y/yes approved")
	}
	if s := out.String(); !strings.Contains(s, "? allow refund") || strings.Contains(s, "\x1b") {
		t.Errorf("question %q", s)
	}

	// No answer before the approval timeout: denied, and said so.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if ok, _ := a.Approve(tctx, req); ok || !strings.Contains(out.String(), "(no answer: denied)") {
		t.Fatalf("timeout: %v\n%s", ok, out.String())
	}
	<-out.asked
	// A "y" typed late, after that timeout, does not approve the next question.
	w.Write([]byte("y\n"))             // read by the reader, which waits to hand it over
	time.Sleep(100 * time.Millisecond) // the next question comes later
	tctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if ok, _ := a.Approve(tctx, req); ok {
		t.Fatal("a late answer approved the next question")
	}
	<-out.asked
	w.Close() // stdin ends: the reader goroutine ends with it
	if ok, err := a.Approve(ctx, req); ok || err == nil {
		t.Fatalf("closed stdin: %v %v", ok, err)
	}

	// No terminal: denied without asking.
	var none bytes.Buffer
	if ok, err := (&terminalApprover{in: strings.NewReader("y\n"), out: &none, tty: false}).Approve(ctx, req); ok || err == nil || none.Len() > 0 {
		t.Fatalf("no terminal: %v %v %q", ok, err, none.String())
	}
}
