package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
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
		mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: make([]byte, 800), Transcript: "Hello from the agent"}}})
		c.WaitReceived(ctx, 800)
		// The transcript follows the audio on the model's socket: hanging up
		// before the session has read it would leave it out of the call.
		waitEvent[callevent.AgentTranscript](ctx, t, ts.events)
		c.Hangup()
		ts.waitEnded(ctx, "CA0077")
		mc.WaitClosed(ctx)
		c.Close()

		var types []string
		text := ""
		err = calllog.Read(strings.NewReader(logs.String()), "log", func(l calllog.Line, ev callevent.Event) {
			types = append(types, l.Type)
			if e, ok := ev.(callevent.AgentTranscript); ok {
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
			want = callevent.Omitted
		}
		if text != want || omit && strings.Contains(logs.String(), "Hello from the agent") {
			t.Errorf("omit=%v: transcript %q", omit, text)
		}
	}
}

// serve --log-transcripts=false: every kind of call event reaches the JSON log
// as callevent.WithoutText leaves it, so no field the kind table calls personal
// is logged (callevent's tests prove WithoutText blanks each of them).
func TestEventLogWithoutTranscriptsBlanksEveryKind(t *testing.T) {
	var logs syncbuf.Buffer
	srv := newTestServer(t, func(c *Config) {
		c.OmitTranscripts = true
		c.EventLogger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}).srv
	h := callevent.Header{Time: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC), CallSID: "CA0001"}
	for _, zero := range callevent.Kinds() {
		logs.Reset()
		ev := fillText(zero, h, "my card number is 4111 1111")
		srv.logEvent(ev)
		var got []callevent.Event
		err := calllog.Read(strings.NewReader(logs.String()), "log", func(_ calllog.Line, ev callevent.Event) {
			got = append(got, ev)
		}, func(b calllog.BadLine) { t.Errorf("%s: %v", zero.Kind(), b) })
		if err != nil {
			t.Fatal(err)
		}
		switch zero.(type) {
		case callevent.CallerTranscriptDelta, callevent.AgentTranscriptDelta:
			if len(got) != 0 {
				t.Errorf("%s: logged: %s", zero.Kind(), logs.String())
			}
			continue
		}
		want, _ := json.Marshal(callevent.WithoutText(ev))
		if len(got) != 1 {
			t.Fatalf("%s: %d lines: %s", zero.Kind(), len(got), logs.String())
		}
		if data, _ := json.Marshal(got[0]); string(data) != string(want) {
			t.Errorf("%s: logged\n%s\nwant\n%s", zero.Kind(), data, want)
		}
	}
}

// fillText returns ev with header h and every text field set to words.
func fillText(ev callevent.Event, h callevent.Header, words string) callevent.Event {
	v := reflect.New(reflect.TypeOf(ev)).Elem()
	v.Set(reflect.ValueOf(ev))
	v.FieldByName("Header").Set(reflect.ValueOf(h))
	for i := range v.NumField() {
		switch f := v.Field(i); {
		case f.Kind() == reflect.String:
			f.SetString(words)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8:
			b, _ := json.Marshal(words)
			f.SetBytes(b)
		case f.Type() == reflect.TypeFor[error]():
			f.Set(reflect.ValueOf(errors.New(words)))
		}
	}
	return v.Interface().(callevent.Event)
}
