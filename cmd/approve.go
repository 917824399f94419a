package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/callagent/callagent/pkg/session"
)

// terminalApprover asks the person at the terminal whether a tool call may run
// (approval policy ask in dev and simulate). No answer before the approval timeout,
// or no terminal, denies it.
type terminalApprover struct {
	in  io.Reader
	out io.Writer
	tty bool

	once  sync.Once
	lines chan typedLine
	mu    sync.Mutex // one question at a time
}

// typedLine is a line of stdin and when it was read.
type typedLine struct {
	text string
	at   time.Time
}

func (a *terminalApprover) Approve(ctx context.Context, req session.ApprovalRequest) (bool, error) {
	if !a.tty || a.in == nil {
		return false, errors.New("no terminal to ask")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	asked := time.Now()
	a.once.Do(func() {
		a.lines = make(chan typedLine)
		go func() { // reads stdin for the life of the process; ends when stdin does
			sc := bufio.NewScanner(a.in)
			for sc.Scan() {
				a.lines <- typedLine{sc.Text(), time.Now()}
			}
			close(a.lines)
		}()
	})
	fmt.Fprintf(a.out, "\n? allow %s %s on call %s? [y/N] ", sanitize(req.Name), clip(sanitize(req.Arguments), 200), sanitize(req.CallSID))
	for {
		select {
		case line, ok := <-a.lines:
			if !ok {
				return false, errors.New("stdin closed")
			}
			if line.at.Before(asked) {
				continue // typed before this question: a late answer to the last one, or a stray Enter
			}
			answer := strings.ToLower(strings.TrimSpace(line.text))
			return answer == "y" || answer == "yes", nil
		case <-ctx.Done():
			fmt.Fprintln(a.out, "(no answer: denied)")
			return false, ctx.Err()
		}
	}
}
