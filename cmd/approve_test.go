package cmd

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/session"
)

func TestTerminalApprover(t *testing.T) {
	leakcheck.Check(t)
	req := session.ApprovalRequest{CallSID: "CA1", Name: "refund", Arguments: `{"amount":20,"note":"\u001b[2J"}`}
	ctx := context.Background()

	in, w := io.Pipe()
	var out bytes.Buffer
	a := &terminalApprover{in: in, out: &out, tty: true}
	go w.Write([]byte("y\n"))
	if ok, err := a.Approve(ctx, req); !ok || err != nil {
		t.Fatalf("y: %v %v", ok, err)
	}
	go w.Write([]byte("nope\n"))
	if ok, _ := a.Approve(ctx, req); ok {
		t.Fatal("an answer other than y/yes approved")
	}
	if !strings.Contains(out.String(), "? allow refund") || strings.Contains(out.String(), "\x1b") {
		t.Errorf("question %q", out.String())
	}

	// No answer before the approval timeout: denied, and said so.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if ok, _ := a.Approve(tctx, req); ok || !strings.Contains(out.String(), "(no answer: denied)") {
		t.Fatalf("timeout: %v\n%s", ok, out.String())
	}
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
