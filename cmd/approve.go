package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

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
	lines chan string
	mu    sync.Mutex // one question at a time
}

func (a *terminalApprover) Approve(ctx context.Context, req session.ApprovalRequest) (bool, error) {
	if !a.tty || a.in == nil {
		return false, errors.New("no terminal to ask")
	}
	a.once.Do(func() {
		a.lines = make(chan string)
		go func() { // reads stdin for the life of the process; ends when stdin does
			sc := bufio.NewScanner(a.in)
			for sc.Scan() {
				a.lines <- sc.Text()
			}
			close(a.lines)
		}()
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.out, "\n? allow %s %s on call %s? [y/N] ", sanitize(req.Name), clip(sanitize(req.Arguments), 200), req.CallSID)
	select {
	case line, ok := <-a.lines:
		if !ok {
			return false, errors.New("stdin closed")
		}
		answer := strings.ToLower(strings.TrimSpace(line))
		return answer == "y" || answer == "yes", nil
	case <-ctx.Done():
		fmt.Fprintln(a.out, "(no answer: denied)")
		return false, ctx.Err()
	}
}
