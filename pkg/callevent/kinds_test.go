package callevent

import (
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fieldNames returns the Personal and Plain lists of a kind's spec.
func fieldNames(k kind) (personal, plain []string) {
	v := reflect.ValueOf(k.spec)
	return v.FieldByName("Personal").Interface().([]string), v.FieldByName("Plain").Interface().([]string)
}

// holdsText reports whether a field of type t can carry words: strings, bytes,
// errors, maps, and structs or slices that contain them.
func holdsText(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Map, reflect.Interface:
		return true
	case reflect.Slice, reflect.Array, reflect.Pointer:
		return t.Elem().Kind() == reflect.Uint8 || holdsText(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsText(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// Every field of every kind that can hold words is either personal (blanked
// when transcripts are not logged) or declared plain: adding a text field to an
// event without deciding fails here.
func TestKindTableCoversEveryTextField(t *testing.T) {
	for name, k := range kinds {
		personal, plain := fieldNames(k)
		for _, f := range slices.Concat(personal, plain) {
			sf, ok := k.typ.FieldByName(f)
			if !ok || len(sf.Index) != 1 {
				t.Errorf("%s: the table names %q, which %s has not", name, f, k.typ.Name())
			} else if !holdsText(sf.Type) {
				t.Errorf("%s: the table names %s, which holds no text (%s)", name, f, sf.Type)
			}
		}
		if i := slices.IndexFunc(personal, func(f string) bool { return slices.Contains(plain, f) }); i >= 0 {
			t.Errorf("%s: %s is both personal and plain", name, personal[i])
		}
		for i := range k.typ.NumField() {
			sf := k.typ.Field(i)
			if sf.Name == "Header" || !holdsText(sf.Type) {
				continue
			}
			if !slices.Contains(personal, sf.Name) && !slices.Contains(plain, sf.Name) {
				t.Errorf("%s: field %s can hold text but the kind table calls it neither Personal nor Plain", name, sf.Name)
			}
		}
	}
}

const secretWords = "my card is 4111 and my name is Ada"

// fill sets every text field of ev to words (raw frames' data as a JSON string).
func fill(ev Event, words string) Event {
	v := reflect.New(reflect.TypeOf(ev)).Elem()
	v.Set(reflect.ValueOf(ev))
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.String:
			f.SetString(words)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8:
			b, _ := json.Marshal(words)
			f.SetBytes(b)
		case f.Type() == reflect.TypeFor[error]():
			f.Set(reflect.ValueOf(errors.New(words)))
		}
	}
	return v.Interface().(Event)
}

// WithoutText blanks each personal field of every kind and keeps the rest.
func TestWithoutTextBlanksEveryPersonalField(t *testing.T) {
	for _, zero := range Kinds() {
		k := kinds[zero.Kind()]
		personal, _ := fieldNames(k)
		ev := fill(zero, secretWords)
		blank := WithoutText(ev)
		if reflect.TypeOf(blank) != reflect.TypeOf(ev) {
			t.Fatalf("%s: WithoutText changed the type to %T", ev.Kind(), blank)
		}
		got, want := reflect.ValueOf(blank), reflect.ValueOf(ev)
		for i := range got.NumField() {
			name := got.Type().Field(i).Name
			g, w := got.Field(i).Interface(), want.Field(i).Interface()
			if slices.Contains(personal, name) {
				data, _ := json.Marshal(g)
				if b, ok := g.([]byte); ok {
					data = b
				}
				if strings.Contains(string(data), "4111") || !strings.Contains(string(data), Omitted) {
					t.Errorf("%s.%s not blanked: %s", ev.Kind(), name, data)
				}
			} else if !reflect.DeepEqual(g, w) {
				t.Errorf("%s.%s changed: %v", ev.Kind(), name, g)
			}
		}
		if len(personal) > 0 && reflect.DeepEqual(blank, ev) {
			t.Errorf("%s: nothing blanked", ev.Kind())
		}
	}
	// Events outside the table pass through.
	type own struct{ Warning }
	if ev := (own{Warning{Message: "x"}}); WithoutText(ev) != ev {
		t.Error("an event outside the table was changed")
	}
}

// Namespaces and levels of the kinds whose answer depends on the event.
func TestNamespaceAndLevel(t *testing.T) {
	for _, tc := range []struct {
		ev    Event
		ns    string
		level slog.Level
	}{
		{RawFrame{Source: SourceTwilio}, NSTwilio, slog.LevelDebug},
		{RawFrame{Source: SourceRealtime}, NSRealtime, slog.LevelDebug},
		{HTTPRequest{}, NSHTTP, slog.LevelDebug},
		{ToolResult{}, NSTool, slog.LevelInfo},
		{ToolResult{Err: errors.New("x")}, NSTool, slog.LevelWarn},
		{CallEnded{}, NSSession, slog.LevelInfo},
		{CallEnded{Err: errors.New("x")}, NSSession, slog.LevelError},
		{GuardrailTripped{}, NSSession, slog.LevelWarn},
		{CallerTranscript{}, NSSession, slog.LevelInfo},
		{CallerTranscriptDelta{}, NSSession, slog.LevelDebug},
	} {
		if ns, l := Namespace(tc.ev), Level(tc.ev); ns != tc.ns || l != tc.level {
			t.Errorf("%s: %s %s, want %s %s", tc.ev.Kind(), ns, l, tc.ns, tc.level)
		}
	}
	type own struct{ ToolResult }
	if ns, l := Namespace(own{}), Level(own{}); ns != NSSession || l != slog.LevelInfo {
		t.Errorf("an event outside the table: %s %s", ns, l)
	}
}
