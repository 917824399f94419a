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
	// board, when set, shows the question instead of out: the call's lines printed
	// while it waits go above it, so it stays on screen (dev on a terminal).
	board questionBoard

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
	q := fmt.Sprintf("? allow %s %s on call %s? [y/N] ", sanitize(req.Name), clip(sanitize(req.Arguments), 200), sanitize(req.CallSID))
	board := a.board
	if board == nil {
		board = plainBoard{a.out}
	}
	board.ask(q)
	for {
		select {
		case line, ok := <-a.lines:
			if !ok {
				board.answered("(stdin closed: denied)")
				return false, errors.New("stdin closed")
			}
			if line.at.Before(asked) {
				continue // typed before this question: a late answer to the last one, or a stray Enter
			}
			board.answered("") // the Enter that sent the answer ended the line
			answer := strings.ToLower(strings.TrimSpace(line.text))
			return answer == "y" || answer == "yes", nil
		case <-ctx.Done():
			board.answered("(no answer: denied)")
			return false, ctx.Err()
		}
	}
}

// questionBoard shows an approval question until it is answered.
type questionBoard interface {
	// ask shows the question, the cursor left after it for the answer.
	ask(question string)
	// answered takes the question down; note, when not empty, ends its line.
	answered(note string)
}

// plainBoard writes the question once: nothing else writes to its screen, or it
// is not a terminal.
type plainBoard struct{ w io.Writer }

func (b plainBoard) ask(q string) { fmt.Fprint(b.w, "\n"+q) }

func (b plainBoard) answered(note string) {
	if note != "" {
		fmt.Fprintln(b.w, note)
	}
}
