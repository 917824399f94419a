package cmd

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/session"
)

// screen is a terminal that stdout and stderr both write to: it keeps its lines
// as a person sees them, with carriage return and erase-line applied.
type screen struct {
	mu    sync.Mutex
	lines []string
	asked chan struct{}
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lines) == 0 {
		s.lines = []string{""}
	}
	text := string(p)
	for text != "" {
		switch {
		case strings.HasPrefix(text, "\r\x1b[K"):
			s.lines[len(s.lines)-1] = ""
			text = text[4:]
		case text[0] == '\n':
			s.lines = append(s.lines, "")
			text = text[1:]
		default:
			s.lines[len(s.lines)-1] += text[:1]
			text = text[1:]
		}
	}
	if strings.Contains(string(p), "? allow") {
		s.asked <- struct{}{}
	}
	return len(p), nil
}

func (s *screen) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines[len(s.lines)-1]
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// The approval question stays the last line on screen, ready for the answer, while
// the call's lines keep coming; the lines printed meanwhile are all there, above it
// (issue 16 item 6: the [y/N] prompt was overwritten by the next transcript lines).
func TestFaultApprovalQuestionStaysVisible(t *testing.T) {
	leakcheck.Check(t)
	scr := &screen{asked: make(chan struct{}, 8)}
	out := newEventOutput(scr, newStyles(false), true, false, calllog.Filter{}, calllog.NewRedactor())
	in, typed := io.Pipe()
	defer typed.Close()
	a := &terminalApprover{in: in, out: scr, tty: true}
	a.board = out.onScreen(scr)

	const sid = "CA00000000000000000000000000000001"
	h := callevent.Header{CallSID: sid}
	out.event(callevent.CallStarted{Header: h})
	// The agent is mid-sentence when the tool asks.
	out.event(callevent.AgentTranscriptDelta{Header: h, ItemID: "item1", Delta: "Let me "})
	type result struct {
		ok  bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		ok, err := a.Approve(context.Background(), session.ApprovalRequest{CallSID: sid, Name: "refund", Arguments: `{"amount":20}`})
		done <- result{ok, err}
	}()
	<-scr.asked
	question := "? allow refund"
	out.event(callevent.AgentTranscriptDelta{Header: h, ItemID: "item1", Delta: "check that for you."})
	out.event(callevent.AgentTranscript{Header: h, ItemID: "item1", Text: "Let me check that for you."})
	if got := scr.last(); !strings.HasPrefix(got, question) {
		t.Fatalf("the question is not the last line after a transcript line; the screen:\n%s", scr)
	}
	out.event(callevent.CallerTranscriptDelta{Header: h, ItemID: "item2", Delta: "Is it "})
	out.event(callevent.CallerTranscript{Header: h, ItemID: "item2", Text: "Is it done yet?"})
	if got := scr.last(); !strings.HasPrefix(got, question) {
		t.Fatalf("the question is not the last line after a second line; the screen:\n%s", scr)
	}
	// dev's own lines on stderr (a server warning) go above it too.
	stderr := &stderrAbove{w: scr}
	stderr.show.Store(out)
	newNSLogger("callagent:http", stderr, newStyles(false), calllog.Filter{}, slog.LevelWarn).Warn("request refused: Twilio signature invalid")
	if got := scr.last(); !strings.HasPrefix(got, question) {
		t.Fatalf("the question is not the last line after a warning; the screen:\n%s", scr)
	}
	if s := scr.String(); !strings.Contains(s, "Twilio signature invalid") {
		t.Fatalf("the warning is lost; the screen:\n%s", s)
	}
	if s := scr.String(); !strings.Contains(s, "Let me check that for you.") || !strings.Contains(s, "Is it done yet?") ||
		strings.Count(s, question) != 1 {
		t.Fatalf("lines lost or the question repeated; the screen:\n%s", s)
	}
	typed.Write([]byte("y\n"))
	if r := <-done; !r.ok || r.err != nil {
		t.Fatalf("answer y: %v %v", r.ok, r.err)
	}
	// Answered: the next lines stream again below.
	out.event(callevent.AgentTranscriptDelta{Header: h, ItemID: "item3", Delta: "Done."})
	if got := scr.last(); !strings.Contains(got, "Done.") {
		t.Fatalf("after the answer, words are not streamed; the screen:\n%s", scr)
	}
}
