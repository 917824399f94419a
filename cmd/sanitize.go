package cmd

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/callagent/callagent/pkg/callevent"
)

// ansiEscape matches the escape sequences a terminal acts on: CSI (7-bit and
// C1), the string commands OSC, DCS, SOS, PM and APC up to their BEL or ST
// terminator (or the end of the text, where a terminal would keep swallowing),
// and the other ESC-initiated sequences (ESC, intermediates, final byte).
var ansiEscape = regexp.MustCompile(`(?s)` +
	`(?:\x1b\[|\x{9b})[0-?]*[ -/]*[@-~]` +
	`|(?:\x1b[\]PX^_]|[\x{9d}\x{90}\x{98}\x{9e}\x{9f}]).*?(?:\x07|\x1b\\|\x{9c}|$)` +
	`|\x1b[ -/]*[0-~]`)

// sanitize makes untrusted text safe for a terminal: what the caller or the
// model said, tool names, arguments and output, call SIDs and numbers, agent
// names, error messages, names from the Twilio API. Escape sequences are
// removed and the remaining C0 and C1 control characters (tabs and newlines
// too: every field prints on one line) become spaces, so nobody can move the
// cursor, clear the screen or change the title by speaking or by naming
// something. Invalid UTF-8 becomes U+FFFD. Printable Unicode is kept.
//
// It is the only sanitiser: the event printer applies it to every string of
// an event (sanitizeEvent), the other commands to each value they print.
// JSON output is never sanitised: its encoder escapes control characters.
//
// Bidirectional embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) become U+FFFD: they reorder what is shown ("Trojan Source"),
// so an approval prompt could show arguments other than those that will run.
func sanitize(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return ' '
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return utf8.RuneError
		}
		return r
	}, s)
}

// sanitizeLines is sanitize for a text of several lines (an error listing a
// configuration's problems): each line is sanitised, the newlines kept.
func sanitizeLines(s string) string {
	if !strings.Contains(s, "\n") {
		return sanitize(s)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = sanitize(l)
	}
	return strings.Join(lines, "\n")
}

// ErrorText is how main prints a command's error: its message can hold what a
// remote API said (Twilio's, OpenAI's, ngrok's), so it is sanitised, line by line.
func ErrorText(err error) string { return sanitizeLines(err.Error()) }

var errorType = reflect.TypeFor[error]()

// sanitizeEvent returns a copy of ev whose every string (in nested structs,
// slices, maps and pointers too), byte slice and error message has been
// through sanitize, so a field added to an event later cannot reach the
// terminal raw. Errors become plain errors with the sanitized message.
func sanitizeEvent(ev callevent.Event) callevent.Event {
	return mapEventStrings(ev, sanitize)
}

// mapEventStrings returns a copy of ev whose every string, byte slice and error
// message (as sanitizeEvent says) is fn of itself: sanitize, or the removal of
// secrets before the terminal shows an event.
func mapEventStrings(ev callevent.Event, fn func(string) string) callevent.Event {
	if ev == nil {
		return nil
	}
	out, ok := stringMapper(fn).value(reflect.ValueOf(ev)).Interface().(callevent.Event)
	if !ok {
		return ev
	}
	return out
}

type stringMapper func(string) string

func (fn stringMapper) value(v reflect.Value) reflect.Value {
	t := v.Type()
	switch t.Kind() {
	case reflect.String:
		return reflect.ValueOf(fn(v.String())).Convert(t)
	case reflect.Struct:
		c := reflect.New(t).Elem()
		c.Set(v)
		for i := range c.NumField() {
			if f := c.Field(i); f.CanSet() {
				f.Set(fn.value(v.Field(i)))
			}
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return reflect.ValueOf([]byte(fn(string(v.Bytes())))).Convert(t)
		}
		c := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(fn.value(v.Index(i)))
		}
		return c
	case reflect.Array:
		c := reflect.New(t).Elem()
		for i := range v.Len() {
			c.Index(i).Set(fn.value(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(fn.value(it.Key()), fn.value(it.Value()))
		}
		return c
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(t.Elem())
		c.Elem().Set(fn.value(v.Elem()))
		return c
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		if t == errorType {
			return reflect.ValueOf(errors.New(fn(v.Interface().(error).Error())))
		}
		c := reflect.New(t).Elem()
		c.Set(fn.value(v.Elem()))
		return c
	}
	return v
}

// jsonForTerminal returns a JSON text with the characters sanitize removes but
// JSON encoders leave raw written as \u escapes instead: C1 controls (U+0080–
// U+009F: U+009B starts a CSI sequence like ESC [) and the bidirectional
// controls. The JSON means the same; a terminal showing it acts on nothing.
// ESC and the other C0 controls cannot be raw in valid JSON. It returns line
// itself when there is nothing to escape.
func jsonForTerminal(line []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i+1 < len(line); i++ {
		var r rune
		n := 0
		switch c := line[i]; {
		case c == 0xc2 && line[i+1] >= 0x80 && line[i+1] <= 0x9f:
			r, n = rune(line[i+1]), 2
		case c == 0xe2 && i+2 < len(line):
			if q, size := utf8.DecodeRune(line[i:]); size == 3 && (q >= 0x202a && q <= 0x202e || q >= 0x2066 && q <= 0x2069) {
				r, n = q, 3
			}
		}
		if n == 0 {
			continue
		}
		out = append(out, line[last:i]...)
		out = fmt.Appendf(out, `\u%04x`, r)
		i += n - 1
		last = i + 1
	}
	if out == nil {
		return line
	}
	return append(out, line[last:]...)
}

// terminalJSONWriter applies jsonForTerminal to each write: serve's JSON log
// lines (log/slog writes a record in one write).
type terminalJSONWriter struct{ w io.Writer }

func (t terminalJSONWriter) Write(p []byte) (int, error) {
	if _, err := t.w.Write(jsonForTerminal(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
