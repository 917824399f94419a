package callevent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
)

// Namespaces, as DEBUG names them. Every event belongs to one; tunnel and
// provision are the namespaces of dev's own loggers.
const (
	NSTwilio    = "callagent:twilio"    // Media Streams frames
	NSRealtime  = "callagent:realtime"  // OpenAI Realtime events
	NSSession   = "callagent:session"   // the call: transcripts, turns, interruptions
	NSTool      = "callagent:tool"      // tool calls, approvals, results
	NSHTTP      = "callagent:http"      // webhook requests
	NSTunnel    = "callagent:tunnel"    // the ngrok session
	NSProvision = "callagent:provision" // the phone number's configuration
)

// Namespaces lists every namespace, for help texts and validation.
var Namespaces = []string{NSTwilio, NSRealtime, NSSession, NSTool, NSHTTP, NSTunnel, NSProvision}

// Omitted replaces what callers and tools said when transcripts are not logged.
const Omitted = "[omitted]"

// The table of kinds: one entry per event type, saying everything callagent needs
// to know about it besides its fields. Personal names the fields (Go names) that
// hold what people said or exchanged, which WithoutText blanks; Plain names every
// other field that holds text (identifiers, names, codes). A test walks every kind
// and fails on a text field that is in neither list, so an event cannot gain a
// field of words without someone deciding whether transcript-free logs keep it.
var kinds = table(
	def(spec[CallStarted]{NS: NSSession, Level: slog.LevelInfo,
		Plain: []string{"StreamSID", "AccountSID", "From", "To", "Parameters"}}),
	def(spec[ModelConnected]{NS: NSSession, Level: slog.LevelInfo}),
	def(spec[SpeechStarted]{NS: NSSession, Level: slog.LevelDebug, Plain: []string{"ItemID"}}),
	def(spec[SpeechStopped]{NS: NSSession, Level: slog.LevelDebug, Plain: []string{"ItemID"}}),
	def(spec[CallerTranscriptDelta]{NS: NSSession, Level: slog.LevelDebug,
		Personal: []string{"Delta"}, Plain: []string{"ItemID"}}),
	def(spec[CallerTranscript]{NS: NSSession, Level: slog.LevelInfo,
		Personal: []string{"Text"}, Plain: []string{"ItemID"}}),
	def(spec[AgentTranscriptDelta]{NS: NSSession, Level: slog.LevelDebug,
		Personal: []string{"Delta"}, Plain: []string{"ResponseID", "ItemID"}}),
	def(spec[AgentTranscript]{NS: NSSession, Level: slog.LevelInfo,
		Personal: []string{"Text"}, Plain: []string{"ResponseID", "ItemID"}}),
	def(spec[Interruption]{NS: NSSession, Level: slog.LevelInfo, Plain: []string{"ResponseID", "Truncations"}}),
	def(spec[TurnLatency]{NS: NSSession, Level: slog.LevelInfo, Plain: []string{"ResponseID"}}),
	def(spec[TurnPlayout]{NS: NSSession, Level: slog.LevelInfo, Plain: []string{"ResponseID"}}),
	def(spec[ResponseDone]{NS: NSSession, Level: slog.LevelDebug,
		Plain: []string{"ResponseID", "Status", "Reason", "Usage"}}),
	def(spec[CallUsage]{NS: NSSession, Level: slog.LevelInfo, Plain: []string{"Model", "TranscriptionModel", "BackendModel"}}),
	def(spec[GuardrailTripped]{NS: NSSession, Level: slog.LevelWarn,
		Personal: []string{"Text"}, Plain: []string{"Rule", "ItemID"}}),
	def(spec[AgentChanged]{NS: NSSession, Level: slog.LevelInfo, Plain: []string{"From", "To"}}),
	def(spec[ToolCall]{NS: NSTool, Level: slog.LevelInfo,
		Personal: []string{"Arguments"}, Plain: []string{"CallID", "Name"}}),
	def(spec[ToolApprovalRequested]{NS: NSTool, Level: slog.LevelInfo,
		Personal: []string{"Arguments"}, Plain: []string{"CallID", "Name"}}),
	def(spec[ToolApprovalDecided]{NS: NSTool, Level: slog.LevelInfo, Plain: []string{"CallID", "Name", "Reason"}}),
	def(spec[ToolResult]{NS: NSTool, Level: slog.LevelInfo,
		LevelOf:  func(e ToolResult) slog.Level { return failed(e.Err, slog.LevelWarn) },
		Personal: []string{"Output"}, Plain: []string{"CallID", "Name", "Err"}}),
	def(spec[MCPEvent]{NS: NSTool, Level: slog.LevelDebug, Plain: []string{"Type", "ItemID"}}),
	def(spec[DTMF]{NS: NSSession, Level: slog.LevelInfo, Plain: []string{"Digit"}}),
	def(spec[ModelError]{NS: NSSession, Level: slog.LevelWarn, Plain: []string{"Type", "Code", "Message", "Param", "ClientEvent", "ClientEventID"}}),
	def(spec[Warning]{NS: NSSession, Level: slog.LevelWarn, Plain: []string{"Message", "Code"}}),
	def(spec[RawFrame]{NS: NSRealtime, Level: slog.LevelDebug,
		NSOf: func(e RawFrame) string {
			if e.Source == SourceTwilio {
				return NSTwilio
			}
			return NSRealtime
		},
		Personal: []string{"Data"}, Plain: []string{"Source", "Type"}}),
	def(spec[HTTPRequest]{NS: NSHTTP, Level: slog.LevelDebug,
		Plain: []string{"Method", "Path", "Answer", "From", "To"}}),
	def(spec[MediaStats]{NS: NSSession, Level: slog.LevelDebug}),
	def(spec[CallConfig]{NS: NSSession, Level: slog.LevelInfo,
		Plain: []string{"Agent", "Source", "Engine", "Model", "Voice", "Instructions", "Greeting", "TurnDetection",
			"Transcription", "Tools", "Approval", "Guardrails", "Handoffs", "Hash"}}),
	def(spec[CallEnded]{NS: NSSession, Level: slog.LevelInfo,
		LevelOf: func(e CallEnded) slog.Level { return failed(e.Err, slog.LevelError) },
		Plain:   []string{"Reason", "Err"}}),
)

// spec is one kind's entry in the table.
type spec[E Event] struct {
	NS       string             // the namespace
	NSOf     func(E) string     // the namespace, when it depends on the event
	Level    slog.Level         // how much it matters: debug events are shown only when their namespace is enabled
	LevelOf  func(E) slog.Level // the level, when it depends on the event
	Personal []string           // fields blanked by WithoutText
	Plain    []string           // the other fields that hold text
}

// kind is a spec with its type erased, as the table keeps it.
type kind struct {
	typ      reflect.Type
	decode   func(fields []byte, h Header) (Event, error)
	ns       func(Event) string
	level    func(Event) slog.Level
	personal []int // field indexes of spec.Personal
	spec     any   // the spec, for tests
}

// headerSetter is a pointer to an event: every event embeds Header, whose
// setHeader is promoted to the pointer.
type headerSetter[E Event] interface {
	*E
	setHeader(Header)
}

func (h *Header) setHeader(x Header) { *h = x }

// failed is the level of an event that carries err: l when there is an error,
// info when there is none.
func failed(err error, l slog.Level) slog.Level {
	if err != nil {
		return l
	}
	return slog.LevelInfo
}

func def[E Event, P headerSetter[E]](s spec[E]) kind {
	t := reflect.TypeFor[E]()
	k := kind{typ: t, spec: s}
	k.decode = func(fields []byte, h Header) (Event, error) {
		var e E
		if len(fields) > 0 {
			if err := json.Unmarshal(fields, P(&e)); err != nil {
				return nil, err
			}
		}
		P(&e).setHeader(h)
		return e, nil
	}
	k.ns = func(ev Event) string {
		if s.NSOf != nil {
			return s.NSOf(ev.(E))
		}
		return s.NS
	}
	k.level = func(ev Event) slog.Level {
		if s.LevelOf != nil {
			return s.LevelOf(ev.(E))
		}
		return s.Level
	}
	for _, name := range s.Personal {
		if f, ok := t.FieldByName(name); ok && len(f.Index) == 1 {
			k.personal = append(k.personal, f.Index[0])
		} else {
			k.personal = append(k.personal, -1) // reported by TestKindTable
		}
	}
	return k
}

func table(ks ...kind) map[string]kind {
	m := make(map[string]kind, len(ks))
	for _, k := range ks {
		m[reflect.Zero(k.typ).Interface().(Event).Kind()] = k
	}
	return m
}

// DecodeEvent rebuilds an event of the given kind from its JSON fields (as
// json.Marshal of the event wrote them) and header.
func DecodeEvent(kind string, fields []byte, h Header) (Event, error) {
	k, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown event type %q", kind)
	}
	ev, err := k.decode(fields, h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return ev, nil
}

// Namespace says which namespace an event belongs to. Events of types outside
// the table (a library user's own) are the session's.
func Namespace(ev Event) string {
	if k, ok := kinds[ev.Kind()]; ok && k.typ == reflect.TypeOf(ev) {
		return k.ns(ev)
	}
	return NSSession
}

// Level says how much an event matters: debug events are shown only when their
// namespace is enabled. Events of types outside the table are info.
func Level(ev Event) slog.Level {
	if k, ok := kinds[ev.Kind()]; ok && k.typ == reflect.TypeOf(ev) {
		return k.level(ev)
	}
	return slog.LevelInfo
}

// IsDebug reports whether ev is a debug event.
func IsDebug(ev Event) bool { return Level(ev) == slog.LevelDebug }

// WithoutText returns ev without what was said or exchanged: its kind's Personal
// fields (transcripts, tool arguments and results, raw frames' contents) are
// replaced by Omitted. For logs that must not hold conversations.
func WithoutText(ev Event) Event {
	k, ok := kinds[ev.Kind()]
	if !ok || len(k.personal) == 0 || k.typ != reflect.TypeOf(ev) {
		return ev
	}
	v := reflect.New(k.typ).Elem()
	v.Set(reflect.ValueOf(ev))
	for _, i := range k.personal {
		if i < 0 {
			continue
		}
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString(Omitted)
		case reflect.Slice: // RawFrame.Data holds JSON: Omitted as a JSON string
			f.SetBytes([]byte(`"` + Omitted + `"`))
		}
	}
	return v.Interface().(Event)
}

// Kinds returns an event of every kind in the table, with empty fields, in the
// order of their kind names: for tests that must cover every event, and for
// listings.
func Kinds() []Event {
	evs := make([]Event, 0, len(kinds))
	for _, k := range kinds {
		evs = append(evs, reflect.Zero(k.typ).Interface().(Event))
	}
	slices.SortFunc(evs, func(a, b Event) int { return strings.Compare(a.Kind(), b.Kind()) })
	return evs
}
