package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

const hostile = "\x1b]0;pwned\x07\x1b[2Jtext"

// fillHostile sets every string (nested ones, map keys and values, the header's
// call SID), byte slice and error of v to hostile text.
func fillHostile(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(hostile)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fillHostile(f)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b, _ := json.Marshal(hostile)
			v.SetBytes(b)
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fillHostile(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fillHostile(k)
		fillHostile(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillHostile(p.Elem())
		v.Set(p)
	case reflect.Interface:
		if v.Type() == reflect.TypeFor[error]() {
			v.Set(reflect.ValueOf(errors.New(hostile)))
		}
	}
}

// hostileEvents is one event of each kind with every text field hostile.
func hostileEvents() []callevent.Event {
	var evs []callevent.Event
	for _, zero := range callevent.Kinds() {
		v := reflect.New(reflect.TypeOf(zero)).Elem()
		fillHostile(v)
		evs = append(evs, v.Interface().(callevent.Event))
	}
	return evs
}

func noControls(t *testing.T, where, s string) {
	t.Helper()
	if strings.ContainsAny(s, "\x1b\x07") || strings.Contains(s, "\u009b") || strings.Contains(s, "\u009d") {
		t.Errorf("%s prints an escape sequence or a control character:\n%q", where, s)
	}
	if !strings.HasPrefix(where, "render ") && !strings.Contains(s, "text") {
		t.Errorf("%s printed none of the text: %q", where, s)
	}
}

// Every event kind, every string field hostile: the live view (streamed,
// piped, debug, two calls at once) prints no ESC or BEL.
func TestLiveViewSanitizesEveryField(t *testing.T) {
	for _, ev := range hostileEvents() {
		noControls(t, "render "+ev.Kind(), render(ev, newStyles(false), true))
	}
	for _, live := range []bool{false, true} {
		var out bytes.Buffer
		p := newPrinter(&out, newStyles(false), live, calllog.ParseFilter("*"))
		p.calls["CA-other"] = true // line prefixes name the call
		for _, ev := range hostileEvents() {
			p.print(ev)
		}
		p.calls = map[string]bool{} // one call: deltas stream
		for _, ev := range hostileEvents() {
			p.print(ev)
		}
		noControls(t, "the printer", out.String())
	}
}

// The same events logged by serve and read back with logs -, and a logged call
// listed and shown: no ESC or BEL; --json passes each line through exactly.
func TestLogsSanitizesEveryField(t *testing.T) {
	var serveOut bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&serveOut, nil))
	for _, ev := range hostileEvents() {
		calllog.LogEvent(log, ev, nil)
	}
	f, out, errOut := logsFactory(t.TempDir(), serveOut.String())
	if err := runLogs(t, f, "-", "--debug", "all"); err != nil {
		t.Fatal(err, errOut.String())
	}
	noControls(t, "logs -", out.String())

	f, out, _ = logsFactory(t.TempDir(), serveOut.String())
	if err := runLogs(t, f, "-", "--debug", "all", "--json"); err != nil {
		t.Fatal(err)
	}
	esc, _ := json.Marshal(hostile)
	if n, want := strings.Count(out.String(), string(esc)), strings.Count(serveOut.String(), string(esc)); n != want || n == 0 {
		t.Errorf("logs - --json changed the text: %d exact copies, want %d:\n%s", n, want, out.String())
	}

	// A call log with a sound call SID and hostile everything else.
	var evs []callevent.Event
	for _, ev := range hostileEvents() {
		v := reflect.New(reflect.TypeOf(ev)).Elem()
		v.Set(reflect.ValueOf(ev))
		v.FieldByName("Header").FieldByName("CallSID").SetString("CA0123")
		evs = append(evs, v.Interface().(callevent.Event))
	}
	state := t.TempDir()
	writeLog(t, state, evs)
	for _, args := range [][]string{{}, {"CA0123", "--debug", "all"}} {
		f, out, errOut := logsFactory(state, "")
		if err := runLogs(t, f, args...); err != nil {
			t.Fatal(args, err, errOut.String())
		}
		noControls(t, "logs "+strings.Join(args, " "), out.String())
	}
	f, out, _ = logsFactory(state, "")
	if err := runLogs(t, f, "--json"); err != nil {
		t.Fatal(err)
	}
	var calls []calllog.Call
	if err := json.Unmarshal([]byte(out.String()), &calls); err != nil || len(calls) != 1 || calls[0].From != hostile {
		t.Errorf("logs --json did not keep the text exact: %v %+v", err, calls)
	}
}
