package livetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/callagent/callagent/pkg/live"
)

// The API's validation of client events, as the twin applies it: every member
// known (else unknown_parameter naming its path), every value of the right type
// and range (invalid_type, invalid_value), required members present
// (missing_required_parameter). The schemas follow OpenAI's published types
// (openai/resources/live/live.d.ts, openai@7.59.0).

// paramError is an invalid_request_error about one parameter.
type paramError struct{ code, param, msg string }

func unknownParam(path string) *paramError {
	return &paramError{"unknown_parameter", path, fmt.Sprintf("Unknown parameter: '%s'.", path)}
}

func invalid(path, msg string) *paramError {
	return &paramError{"invalid_value", path, fmt.Sprintf("Invalid value for '%s': %s", path, msg)}
}

func missing(path string) *paramError {
	return &paramError{"missing_required_parameter", path, fmt.Sprintf("Missing required parameter: '%s'.", path)}
}

func wrongType(path, want string) *paramError {
	return &paramError{"invalid_type", path, fmt.Sprintf("Invalid type for '%s': expected %s.", path, want)}
}

type check func(path string, v any) *paramError

func str(allowed ...string) check {
	return func(path string, v any) *paramError {
		s, ok := v.(string)
		if !ok {
			return wrongType(path, "a string")
		}
		if len(allowed) > 0 && !slices.Contains(allowed, s) {
			return invalid(path, fmt.Sprintf("expected one of %s, got %q.", strings.Join(allowed, ", "), s))
		}
		return nil
	}
}

func integer(lo, hi float64) check {
	return func(path string, v any) *paramError {
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return wrongType(path, "an integer")
		}
		if f < lo || f > hi {
			return invalid(path, fmt.Sprintf("must be between %g and %g.", lo, hi))
		}
		return nil
	}
}

func boolean(path string, v any) *paramError {
	if _, ok := v.(bool); !ok {
		return wrongType(path, "a boolean")
	}
	return nil
}

func anything(string, any) *paramError { return nil }

func nullable(c check) check {
	return func(path string, v any) *paramError {
		if v == nil {
			return nil
		}
		return c(path, v)
	}
}

// fields of an object: the check of each member, and which are required.
type fields struct {
	of       map[string]check
	required []string
}

// object checks a JSON object; a member not listed is an unknown parameter.
func object(f fields) check {
	return func(path string, v any) *paramError {
		m, ok := v.(map[string]any)
		if !ok {
			return wrongType(path, "an object")
		}
		for _, k := range f.required {
			if _, ok := m[k]; !ok {
				return missing(join(path, k))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			c, ok := f.of[k]
			if !ok {
				return unknownParam(join(path, k))
			}
			if err := c(join(path, k), m[k]); err != nil {
				return err
			}
		}
		return nil
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func array(max int, c check) check {
	return func(path string, v any) *paramError {
		a, ok := v.([]any)
		if !ok {
			return wrongType(path, "an array")
		}
		if len(a) > max {
			return invalid(path, fmt.Sprintf("at most %d items.", max))
		}
		for i, x := range a {
			if err := c(fmt.Sprintf("%s[%d]", path, i), x); err != nil {
				return err
			}
		}
		return nil
	}
}

// byType checks an object by its "type" member: kinds[type] are its fields (type
// itself is added). A nil entry accepts the kind's members as they are.
func byType(kinds map[string]*fields) check {
	return func(path string, v any) *paramError {
		m, ok := v.(map[string]any)
		if !ok {
			return wrongType(path, "an object")
		}
		t, ok := m["type"].(string)
		if !ok {
			return missing(join(path, "type"))
		}
		f, known := kinds[t]
		if !known {
			return invalid(join(path, "type"), fmt.Sprintf("expected one of %s, got %q.", strings.Join(slices.Sorted(maps.Keys(kinds)), ", "), t))
		}
		if f == nil {
			return nil
		}
		withType := fields{of: map[string]check{"type": anything}, required: f.required}
		maps.Copy(withType.of, f.of)
		return object(withType)(path, v)
	}
}

// BuiltInVoices are the voices of the types' BuiltInVoice.
var BuiltInVoices = []string{"alloy", "ash", "ballad", "beacon", "bossa", "cedar", "cinder", "coral", "delta", "echo",
	"gleam", "marin", "meridian", "quartz", "ripple", "sage", "shida", "shimmer", "stone", "tempo", "verse", "vesper", "willow"}

// voice is a built-in voice name or a custom voice {id}.
func voice(path string, v any) *paramError {
	if _, ok := v.(map[string]any); ok {
		return object(fields{of: map[string]check{"id": str()}, required: []string{"id"}})(path, v)
	}
	return str(BuiltInVoices...)(path, v)
}

// format: audio/pcm at 16000 or 24000 Hz; G.711 (pcmu, pcma) at 8000 Hz.
func format(path string, v any) *paramError {
	if err := byType(map[string]*fields{
		live.FormatPCM:  {of: map[string]check{"rate": anything}, required: []string{"rate"}},
		live.FormatPCMU: {of: map[string]check{"rate": anything}, required: []string{"rate"}},
		live.FormatPCMA: {of: map[string]check{"rate": anything}, required: []string{"rate"}},
	})(path, v); err != nil {
		return err
	}
	m := v.(map[string]any)
	rate, ok := m["rate"].(float64)
	if !ok {
		return wrongType(path+".rate", "an integer")
	}
	if m["type"] == live.FormatPCM {
		if rate != 16000 && rate != 24000 {
			return invalid(path+".rate", "audio/pcm supports 16000 or 24000 Hz.")
		}
	} else if rate != 8000 {
		return invalid(path+".rate", fmt.Sprintf("%s uses 8000 Hz.", m["type"]))
	}
	return nil
}

var effort = str("none", "minimal", "low", "medium", "high", "xhigh")

var functionTool = &fields{of: map[string]check{
	"name": str(), "description": nullable(str()), "parameters": nullable(freeObject), "strict": nullable(boolean),
}, required: []string{"name"}}

// freeObject accepts any object.
func freeObject(path string, v any) *paramError {
	if _, ok := v.(map[string]any); !ok {
		return wrongType(path, "an object")
	}
	return nil
}

// responsesFields are the members of ResponsesDelegationConfig; hosted tools are
// accepted as the API's Responses tools (not modelled member by member).
func responsesFields(required ...string) fields {
	return fields{of: map[string]check{
		"model":               str(),
		"instructions":        nullable(str()),
		"max_output_tokens":   nullable(integer(1, 1<<31)),
		"parallel_tool_calls": nullable(boolean),
		"reasoning": nullable(object(fields{of: map[string]check{
			"effort": nullable(effort), "summary": nullable(str("concise", "detailed", "auto")),
		}})),
		"service_tier": nullable(str("auto", "default", "fast_tier_temp_pilot", "flex", "priority", "ultrafast")),
		"text":         nullable(object(fields{of: map[string]check{"verbosity": nullable(str("low", "medium", "high"))}})),
		"tool_choice":  toolChoice,
		"tools": array(128, byType(map[string]*fields{
			"function": functionTool, "web_search": nil, "file_search": nil, "code_interpreter": nil, "shell": nil,
			"image_generation": nil, "mcp": nil, "custom": nil, "namespace": nil, "tool_search": nil,
			"programmatic_tool_calling": nil, "computer": nil, "apply_patch": nil,
		})),
	}, required: required}
}

func toolChoice(path string, v any) *paramError {
	if _, ok := v.(string); ok {
		return str("auto", "none", "required")(path, v)
	}
	return freeObject(path, v)
}

var ackDelay = integer(0, 1<<31)

// delegation at startup (start) or in an update: client, responses (the backend's
// model required at startup), decisions (accepted, not modelled by the twin).
func delegation(start bool) check {
	var req []string
	if start {
		req = []string{"model"}
	}
	resp := &fields{of: map[string]check{"responses": object(responsesFields(req...)), "acknowledgement_delay_ms": ackDelay}}
	if start {
		resp.required = []string{"responses"}
	}
	return nullable(byType(map[string]*fields{
		live.DelegateClient:    {of: map[string]check{"acknowledgement_delay_ms": ackDelay}},
		live.DelegateResponses: resp,
		"decisions":            nil,
	}))
}

func liveModel(path string, v any) *paramError {
	s, ok := v.(string)
	if !ok {
		return wrongType(path, "a string")
	}
	if !strings.HasPrefix(s, "gpt-live-") {
		return &paramError{"model_not_found", path, fmt.Sprintf("The model '%s' does not exist or is not a Live model.", s)}
	}
	return nil
}

var eventID = nullable(str())

var sessionConfig = object(fields{of: map[string]check{
	"model":        liveModel,
	"instructions": nullable(str()),
	"audio": object(fields{of: map[string]check{
		"format": format,
		"output": object(fields{of: map[string]check{"voice": voice}}),
	}}),
	"client":            freeObject,
	"delegation":        delegation(true),
	"input":             array(128, byType(map[string]*fields{"message": nil})),
	"safety_identifier": nullable(str()),
	"store":             boolean,
	"triggers":          array(16, freeObject),
}, required: []string{"model"}})

func contextAppend() check {
	return object(fields{of: map[string]check{
		"type": anything, "event_id": eventID, "content": str(), "delegation_id": nullable(str()),
	}, required: []string{"content", "delegation_id"}})
}

// inputItem: the Responses input items the twin takes (function call outputs and
// messages).
var inputItem = byType(map[string]*fields{
	live.ItemFunctionCallOutput: {of: map[string]check{"call_id": str(), "output": anything, "id": nullable(str()), "status": nullable(str())},
		required: []string{"call_id", "output"}},
	live.ItemMessage: {of: map[string]check{"role": str("user", "assistant", "system", "developer"), "content": anything},
		required: []string{"role", "content"}},
})

// clientSchemas are the client events the twin accepts, by type.
var clientSchemas = map[string]check{
	live.TypeSessionStart: object(fields{of: map[string]check{"type": anything, "event_id": eventID, "session": sessionConfig},
		required: []string{"session"}}),
	live.TypeSessionUpdate: object(fields{of: map[string]check{"type": anything, "event_id": eventID,
		"session": object(fields{of: map[string]check{"delegation": delegation(false), "triggers": array(16, freeObject)}})},
		required: []string{"session"}}),
	live.TypeInputAudioAppend: object(fields{of: map[string]check{"type": anything, "event_id": eventID, "audio": str()},
		required: []string{"audio"}}),
	live.TypeCommentaryAppend:   contextAppend(),
	live.TypeThinkingAppend:     contextAppend(),
	live.TypeInstructionsAppend: contextAppend(),
	live.TypeSessionClose:       object(fields{of: map[string]check{"type": anything, "event_id": eventID}}),
	live.TypeResponseCreate:     object(fields{of: map[string]check{"type": anything, "event_id": eventID}}),
	live.TypeResponseItemCreate: object(fields{of: map[string]check{"type": anything, "event_id": eventID, "item": inputItem},
		required: []string{"item"}}),
}

// notModelled are client events of the API the twin does not act on: it refuses
// them so that a test relying on them fails loudly instead of passing on nothing.
var notModelled = []string{"session.input_audio.mute", "session.input_audio.unmute", "session.output_audio.fixture.play",
	"decision.create", "decision.item.create", "decision.item.delete", "transport.dtmf.send"}
