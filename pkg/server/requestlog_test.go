package server

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/callevent"
)

// At debug level every request is logged once it is answered, media streams
// (hijacked WebSockets) included; call events go to EventLogger when set.
func TestRequestLogAndEventLogger(t *testing.T) {
	var logs, events syncbuf.Buffer
	ts := newTestServer(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.EventLogger = slog.New(slog.NewTextHandler(&events, &slog.HandlerOptions{Level: slog.LevelDebug}))
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
	if e := ts.waitEnded(ctx, "CA0042"); e.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s", e.Reason)
	}
	mc.WaitClosed(ctx)

	got := logs.String()
	if want := `msg="http request" method=GET path=/media-stream status=101`; !strings.Contains(got, want) {
		t.Errorf("request log lacks %s:\n%s", want, got)
	}
	// The webhook is an event of its call, with its call SID, not a request line.
	if strings.Contains(got, "path=/incoming-call") ||
		!strings.Contains(events.String(), `type=debug.http call_sid=CA0042 fields="{\"method\":\"POST\",\"path\":\"/incoming-call\",\"status\":200,\"answer\":\"connect to the media stream; dialing the model\"`) {
		t.Errorf("webhook not reported as a call event:\nlogger: %s\nevents: %s", got, events.String())
	}
	if strings.Contains(got, "call.started") || !strings.Contains(events.String(), "msg=call.started ns=callagent:session type=call.started call_sid=CA0042") {
		t.Errorf("call events not split to EventLogger:\nlogger: %s\nevents: %s", got, events.String())
	}
}
