package offlinecall

import (
	"testing"

	"github.com/callagent/callagent/pkg/callevent"
)

// A call's warnings (caller audio late on a loaded machine, a stream error Twilio
// reported) are not the model's errors: the summary counts them apart, so
// "0 errors" stays true of a call that only warned (they were counted as errors).
func TestFaultSummaryWarningsAreNotErrors(t *testing.T) {
	s := summarize([]callevent.Event{
		callevent.Warning{Message: "caller audio arrived late"},
		callevent.ModelError{Code: "server_error"},
		callevent.Warning{Message: "stream error 31921"},
	}, callevent.CallEnded{})
	if s.Errors != 1 || s.Warnings != 2 {
		t.Fatalf("errors %d, warnings %d; want 1 and 2", s.Errors, s.Warnings)
	}
}
