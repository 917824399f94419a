package server

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/session"
)

// At debug level every request is logged once it is answered, media streams
// (hijacked WebSockets) included; call events go to EventLogger when set.
func TestRequestLogAndEventLogger(t *testing.T) {
	var logs, events syncbuf.Buffer
	ts := newTestServer(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.EventLogger = slog.New(slog.NewTextHandler(&events, nil))
	})
	ctx := ctxFor(t)
	if resp, body := ts.webhook("CA0042", nil); resp.StatusCode != 200 {
		t.Fatalf("webhook %d %s", resp.StatusCode, body)
	}
	mc := ts.modelConn(ctx)
	c, err := ts.caller("CA0042", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Hangup()
	if e := ts.waitEnded(ctx, "CA0042"); e.Reason != session.EndCallerHangup {
		t.Fatalf("ended %s", e.Reason)
	}
	mc.WaitClosed(ctx)

	got := logs.String()
	for _, want := range []string{
		`msg="http request" method=POST path=/incoming-call status=200`,
		`msg="http request" method=GET path=/media-stream status=101`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("request log lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "call.started") || !strings.Contains(events.String(), "msg=call.started ns=callagent:session type=call.started call_sid=CA0042") {
		t.Errorf("call events not split to EventLogger:\nlogger: %s\nevents: %s", got, events.String())
	}
}
