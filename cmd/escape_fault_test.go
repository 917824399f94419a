package cmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
)

// injected is what a hostile peer puts in a name or a message: an OSC that sets
// the window title, CSI clear-screen (7-bit and as the C1 character U+009B), a
// bare C1 OSC and a right-to-left override.
const injected = "\x1b]0;pwned\x07\x1b[2J\u009b2J\u009d0;t\u009c\u202eevil"

// terminalControls lists what must not reach a terminal in text, by name.
func terminalControls(s string) []string {
	var found []string
	for _, c := range []struct{ name, s string }{{"ESC", "\x1b"}, {"BEL", "\x07"}, {"C1 CSI", "\u009b"}, {"C1 OSC", "\u009d"},
		{"C1 ST", "\u009c"}, {"RLO", "\u202e"}} {
		if strings.Contains(s, c.s) {
			found = append(found, c.name)
		}
	}
	return found
}

func checkNoControls(t *testing.T, where, s string) {
	t.Helper()
	if found := terminalControls(s); len(found) > 0 {
		t.Errorf("%s reaches the terminal with %v:\n%q", where, found, s)
	}
}

// The approval prompt names the call, the tool and its arguments, all of which
// come from outside (Twilio's start message, the model): none reaches the
// terminal with an escape sequence, a C1 control or a bidi override.
func TestFaultApprovalPromptEscapes(t *testing.T) {
	var out strings.Builder
	a := &terminalApprover{in: strings.NewReader("n\n"), out: &out, tty: true}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ok, err := a.Approve(ctx, session.ApprovalRequest{CallSID: "CA" + injected, CallID: "call_1",
		Name: "crm." + injected, Arguments: `{"q":"` + injected + `"}`})
	if err != nil || ok {
		t.Fatalf("Approve = %v, %v; want a denial from the typed n", ok, err)
	}
	checkNoControls(t, "the approval prompt", out.String())
	if !strings.Contains(out.String(), "evil") || !strings.Contains(out.String(), "crm.") {
		t.Errorf("the prompt lost the text around the escapes: %q", out.String())
	}
}

// A Twilio number whose name carries escapes, and an OpenAI error message that
// does, reach neither dev's steps and banner (stderr) nor its call view or
// --json lines (stdout).
func TestFaultDevTerminalEscapes(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		name := "rendered"
		if asJSON {
			name = "json"
		}
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			h := newDevHarness(t)
			hostileNumber := devNumber
			hostileNumber.PhoneNumber = devNumber.PhoneNumber + injected
			hostileNumber.FriendlyName = injected
			h.api.ReplaceNumber(hostileNumber)
			h.model.Script = func(ctx context.Context, c *realtimetest.ModelConn) error {
				ev, err := c.WaitEvent(ctx, realtime.TypeSessionUpdate, 1)
				if err != nil {
					return nil
				}
				c.SendError("invalid_value"+injected, "The model says "+injected)
				h.updates <- ev.(*realtime.SessionUpdate).Session
				<-ctx.Done()
				return nil
			}
			args, ended := []string{}, "● call ended"
			if asJSON {
				args, ended = append(args, "--json"), `"type":"call.ended"`
			}
			h.start(args...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			caller := h.place(ctx, "CA00000000000000000000000000000014")
			defer caller.Close()
			select {
			case <-h.updates:
			case <-ctx.Done():
				t.Fatal("no session.update")
			}
			h.waitOut("The model says")
			caller.Hangup()
			h.waitOut(ended)
			h.cancel()
			select {
			case err := <-h.done:
				if err != nil {
					t.Fatalf("dev returned %v\n%s", err, h.errOut.String())
				}
			case <-ctx.Done():
				t.Fatal("dev did not return")
			}
			if got := h.api.Number("PN1"); got != hostileNumber {
				t.Errorf("number not restored: %+v", got)
			}
			checkNoControls(t, "dev's stderr", h.errOut.String())
			checkNoControls(t, "dev's stdout", h.out.String())
			if !strings.Contains(h.errOut.String(), "+14155550100\ufffdevil goes to") {
				t.Errorf("the steps lost the number:\n%s", h.errOut.String())
			}
		})
	}
}

// JSON lines keep their meaning: C1 and bidi characters become \u escapes.
func TestJSONForTerminal(t *testing.T) {
	want := map[string]string{"m": "a\u009bb\u0085c\u202ed\u2066e é€😀 \u00a0"}
	line, _ := json.Marshal(want)
	out := jsonForTerminal(line)
	checkNoControls(t, "jsonForTerminal", string(out))
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil || got["m"] != want["m"] {
		t.Errorf("jsonForTerminal(%s) = %s: %v", line, out, err)
	}
	if clean := []byte(`{"m":"é€😀"}`); &jsonForTerminal(clean)[0] != &clean[0] {
		t.Error("a clean line was copied")
	}
	if got := sanitizeLines("one\x1b[2J\ntwo\u202e"); got != "one\ntwo\ufffd" {
		t.Errorf("sanitizeLines: %q", got)
	}
}
