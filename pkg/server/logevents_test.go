package server

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/sim"
)

// A server's JSON log reads back as the call: `kubectl logs | callagent logs -`.
// With OmitTranscripts nothing said reaches it.
func TestEventLogReadsBack(t *testing.T) {
	for _, omit := range []bool{false, true} {
		var logs syncbuf.Buffer
		ts := newTestServer(t, func(c *Config) {
			c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			c.OmitTranscripts = omit
		})
		ctx := ctxFor(t)
		ts.webhook("CA0077", nil)
		mc := ts.modelConn(ctx)
		c, err := ts.caller("CA0077", nil)
		if err != nil {
			t.Fatal(err)
		}
		mc.Respond(ctx, sim.ResponseSpec{Items: []sim.ItemSpec{{Audio: make([]byte, 800), Transcript: "Hello from the agent"}}})
		c.WaitReceived(ctx, 800)
		// The transcript follows the audio on the model's socket: hanging up
		// before the session has read it would leave it out of the call.
		waitEvent[session.AgentTranscript](ctx, t, ts.events)
		c.Hangup()
		ts.waitEnded(ctx, "CA0077")
		mc.WaitClosed(ctx)
		c.Close()

		var types []string
		text := ""
		err = calllog.Read(strings.NewReader(logs.String()), "log", func(l calllog.Line, ev session.Event) {
			types = append(types, l.Type)
			if e, ok := ev.(session.AgentTranscript); ok {
				text = e.Text
			}
		}, func(b calllog.BadLine) { t.Error(b) })
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(types, " ")
		if !strings.HasPrefix(got, "call.started") || !strings.HasSuffix(got, "call.ended") || !strings.Contains(got, "agent.transcript") {
			t.Errorf("events in the log: %s", got)
		}
		want := "Hello from the agent"
		if omit {
			want = calllog.Omitted
		}
		if text != want || omit && strings.Contains(logs.String(), "Hello from the agent") {
			t.Errorf("omit=%v: transcript %q", omit, text)
		}
	}
}
