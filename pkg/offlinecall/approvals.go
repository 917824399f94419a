package offlinecall

import (
	"context"
	"fmt"
	"sync"

	"github.com/callagent/callagent/pkg/session"
)

// Answers of simulate --approve for the approvals a scenario does not answer.
const (
	ApproveAll  = "all"
	ApproveNone = "none"
)

// approver answers a simulated call's approvals under policy ask: the scenario's
// answer for the tool, else Options.Approve, else the next approver (the
// terminal), else a denial with a note — a scripted run never waits on a person.
type approver struct {
	answers map[string]string
	all     string
	next    session.Approver

	mu     sync.Mutex
	denied []string // tools denied for want of an answer, noted once each
}

func (a *approver) Approve(ctx context.Context, req session.ApprovalRequest) (bool, error) {
	if ans, ok := a.answers[req.Name]; ok {
		return ans == Approve, nil
	}
	switch a.all {
	case ApproveAll:
		return true, nil
	case ApproveNone:
		return false, nil
	}
	if a.next != nil {
		return a.next.Approve(ctx, req)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range a.denied {
		if d == req.Name {
			return false, fmt.Errorf("no answer for approvals of %s", req.Name)
		}
	}
	a.denied = append(a.denied, req.Name)
	return false, fmt.Errorf("no answer for approvals of %s", req.Name)
}

func (a *approver) notes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var notes []string
	for _, name := range a.denied {
		notes = append(notes, fmt.Sprintf("tool %s asked for approval and the scenario has no answer: denied "+
			"(add approvals: {%s: approve} to the scenario, or run with --approve all)", name, name))
	}
	return notes
}
