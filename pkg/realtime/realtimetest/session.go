package realtimetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/callagent/callagent/pkg/realtime"
)

// The session as the GA API keeps it: a JSON object that session.update merges into.
// An update names only what it changes; objects merge member by member, arrays and
// scalars replace, and an explicit null turns a setting off (or back to its default).
// A turn_detection whose type changes starts from that type's defaults. An update
// with any unknown or invalid parameter is refused whole, with the param's path.

// defaultSession is what session.created reports before any update: 24 kHz PCM both
// ways and server VAD that interrupts, as the API's defaults are.
func defaultSession(id string) map[string]any {
	return map[string]any{
		"type": "realtime", "object": "realtime.session", "id": id, "model": realtime.DefaultModel,
		"output_modalities": []any{"audio"}, "instructions": "",
		"audio": map[string]any{
			"input": map[string]any{
				"format":          map[string]any{"type": realtime.FormatPCM, "rate": float64(24000)},
				"transcription":   nil,
				"noise_reduction": nil,
				"turn_detection":  turnDefaults(realtime.ServerVAD),
			},
			"output": map[string]any{
				"format": map[string]any{"type": realtime.FormatPCM, "rate": float64(24000)},
				"voice":  "alloy", "speed": float64(1),
			},
		},
		"tools": []any{}, "tool_choice": "auto", "max_output_tokens": "inf", "tracing": nil,
		"truncation": "auto", "prompt": nil, "expires_at": float64(0), "include": nil,
	}
}

func turnDefaults(typ string) map[string]any {
	if typ == realtime.SemanticVAD {
		return map[string]any{"type": typ, "eagerness": "auto", "create_response": true, "interrupt_response": true}
	}
	return map[string]any{"type": typ, "threshold": 0.5, "prefix_padding_ms": float64(300), "silence_duration_ms": float64(500),
		"idle_timeout_ms": nil, "create_response": true, "interrupt_response": true}
}

// paramError is an invalid_request_error about one parameter.
type paramError struct{ code, param, msg string }

func unknownParam(path string) *paramError {
	return &paramError{"unknown_parameter", path, fmt.Sprintf("Unknown parameter: '%s'.", path)}
}

func invalid(path, msg string) *paramError {
	return &paramError{"invalid_value", path, fmt.Sprintf("Invalid value for '%s': %s", path, msg)}
}

type check func(path string, v any) *paramError

func str(allowed ...string) check {
	return func(path string, v any) *paramError {
		s, ok := v.(string)
		if !ok {
			return &paramError{"invalid_type", path, fmt.Sprintf("Invalid type for '%s': expected a string.", path)}
		}
		if len(allowed) > 0 && !slices.Contains(allowed, s) {
			return invalid(path, fmt.Sprintf("expected one of %s, got %q.", strings.Join(allowed, ", "), s))
		}
		return nil
	}
}

func num(lo, hi float64) check {
	return func(path string, v any) *paramError {
		f, ok := v.(float64)
		if !ok {
			return &paramError{"invalid_type", path, fmt.Sprintf("Invalid type for '%s': expected a number.", path)}
		}
		if f < lo || f > hi {
			return invalid(path, fmt.Sprintf("must be between %g and %g.", lo, hi))
		}
		return nil
	}
}

func boolean(path string, v any) *paramError {
	if _, ok := v.(bool); !ok {
		return &paramError{"invalid_type", path, fmt.Sprintf("Invalid type for '%s': expected a boolean.", path)}
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

// object checks a JSON object whose members are fields; a member not listed is an
// unknown parameter.
func object(fields map[string]check) check {
	return func(path string, v any) *paramError {
		m, ok := v.(map[string]any)
		if !ok {
			return &paramError{"invalid_type", path, fmt.Sprintf("Invalid type for '%s': expected an object.", path)}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			c, ok := fields[k]
			if !ok {
				return unknownParam(path + "." + k)
			}
			if err := c(path+"."+k, m[k]); err != nil {
				return err
			}
		}
		return nil
	}
}

func array(c check) check {
	return func(path string, v any) *paramError {
		a, ok := v.([]any)
		if !ok {
			return &paramError{"invalid_type", path, fmt.Sprintf("Invalid type for '%s': expected an array.", path)}
		}
		for i, e := range a {
			if err := c(fmt.Sprintf("%s[%d]", path, i), e); err != nil {
				return err
			}
		}
		return nil
	}
}

// byType checks an object by its "type" member.
func byType(kinds map[string]map[string]check) check {
	return func(path string, v any) *paramError {
		m, ok := v.(map[string]any)
		if !ok {
			return &paramError{"invalid_type", path, fmt.Sprintf("Invalid type for '%s': expected an object.", path)}
		}
		typ, _ := m["type"].(string)
		fields, ok := kinds[typ]
		if !ok {
			return invalid(path+".type", fmt.Sprintf("unsupported type %q.", typ))
		}
		return object(fields)(path, v)
	}
}

var audioFormat = byType(map[string]map[string]check{
	realtime.FormatPCM:  {"type": anything, "rate": num(24000, 24000)},
	realtime.FormatPCMU: {"type": anything},
	realtime.FormatPCMA: {"type": anything},
})

var turnDetection = byType(map[string]map[string]check{
	realtime.ServerVAD: {"type": anything, "threshold": num(0, 1), "prefix_padding_ms": num(0, 1e6),
		"silence_duration_ms": num(0, 1e6), "idle_timeout_ms": nullable(num(0, 1e7)), "create_response": boolean,
		"interrupt_response": boolean},
	realtime.SemanticVAD: {"type": anything, "eagerness": str("low", "medium", "high", "auto"),
		"create_response": boolean, "interrupt_response": boolean},
})

var tool = byType(map[string]map[string]check{
	"function": {"type": anything, "name": str(), "description": str(), "parameters": anything},
	"mcp": {"type": anything, "server_label": str(), "server_url": str(), "server_description": str(),
		"connector_id": str(), "authorization": str(), "headers": nullable(anything), "allowed_tools": nullable(anything),
		"require_approval": nullable(anything)},
})

// toolChoice is auto, none, required, or a function or MCP tool by name.
func toolChoice(path string, v any) *paramError {
	if _, ok := v.(string); ok {
		return str("auto", "none", "required")(path, v)
	}
	return byType(map[string]map[string]check{
		"function": {"type": anything, "name": str()},
		"mcp":      {"type": anything, "server_label": str(), "name": nullable(str())},
	})(path, v)
}

// sessionUpdate checks the session object of a session.update.
var sessionUpdate = object(map[string]check{
	"type": str("realtime"), "model": str(), "instructions": str(),
	"output_modalities": array(str("audio", "text")),
	"audio": object(map[string]check{
		"input": object(map[string]check{
			"format":          audioFormat,
			"transcription":   nullable(object(map[string]check{"model": str(), "language": str(), "prompt": str()})),
			"noise_reduction": nullable(object(map[string]check{"type": str("near_field", "far_field"), "strength": num(0, 1)})),
			"turn_detection":  nullable(turnDetection),
		}),
		"output": object(map[string]check{"format": audioFormat, "voice": voice, "speed": num(0.25, 1.5)}),
	}),
	"tools": array(tool), "tool_choice": toolChoice, "max_output_tokens": anything, "tracing": nullable(tracing),
	"truncation": truncation, "prompt": nullable(prompt), "include": nullable(array(str("item.input_audio_transcription.logprobs"))),
	"reasoning": object(map[string]check{"effort": str(realtime.ReasoningEfforts...)}), "parallel_tool_calls": boolean,
})

// required checks that an object has the members names before c checks it.
func required(c check, names ...string) check {
	return func(path string, v any) *paramError {
		if m, ok := v.(map[string]any); ok {
			for _, n := range names {
				if _, ok := m[n]; !ok {
					return &paramError{"missing_required_parameter", path + "." + n, fmt.Sprintf("Missing required parameter: '%s.%s'.", path, n)}
				}
			}
		}
		return c(path, v)
	}
}

// stringOr checks a value that is one of the strings, or else an object c checks.
func stringOr(c check, allowed ...string) check {
	return func(path string, v any) *paramError {
		if _, ok := v.(string); ok {
			return str(allowed...)(path, v)
		}
		return c(path, v)
	}
}

// voice is a built-in voice by name or a custom voice {id} (RealtimeAudioConfigOutput.ID).
var voice = stringOr(required(object(map[string]check{"id": str()}), "id"))

// tracing is "auto" or a TracingConfiguration.
var tracing = stringOr(object(map[string]check{"workflow_name": str(), "group_id": str(), "metadata": anything}), "auto")

// truncation is "auto", "disabled" or a RealtimeTruncationRetentionRatio.
var truncation = stringOr(required(byType(map[string]map[string]check{
	"retention_ratio": {"type": anything, "retention_ratio": num(0, 1),
		"token_limits": object(map[string]check{"post_instructions": num(1, 1e7)})},
}), "retention_ratio"), "auto", "disabled")

// prompt is a ResponsePrompt: a stored prompt's id, version and variables (strings,
// or input objects, which this twin does not look into).
var prompt = required(object(map[string]check{"id": str(), "version": nullable(str()),
	"variables": nullable(func(path string, v any) *paramError {
		m, ok := v.(map[string]any)
		if !ok {
			return &paramError{"invalid_type", path, fmt.Sprintf("Invalid type for '%s': expected an object.", path)}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if _, ok := m[k].(string); !ok {
				if _, ok := m[k].(map[string]any); !ok {
					return &paramError{"invalid_type", path + "." + k, fmt.Sprintf("Invalid type for '%s.%s': expected a string or an input object.", path, k)}
				}
			}
		}
		return nil
	})}), "id")

// modelChecks refuses what the session's model does not have: reasoning and
// parallel_tool_calls belong to the reasoning generation (gpt-realtime-2 and later).
// OpenAI's types say "only supported by reasoning Realtime models" without naming
// the error; this twin answers as the API does for other parameters a model lacks
// (unsupported_parameter, with the param's path).
func modelChecks(model string, upd map[string]any) *paramError {
	if realtime.ReasoningModel(model) {
		return nil
	}
	for _, k := range []string{"reasoning", "parallel_tool_calls"} {
		if _, ok := upd[k]; ok {
			return &paramError{"unsupported_parameter", "session." + k,
				fmt.Sprintf("Unsupported parameter: 'session.%s' is not supported with the model %s; it needs a reasoning model such as gpt-realtime-2.", k, model)}
		}
	}
	return nil
}

// replaced are the objects an update replaces whole rather than merging into.
var replaced = map[string]bool{"parameters": true, "headers": true, "prompt": true, "tracing": true, "truncation": true, "voice": true}

// merge applies an update to the current session, in place.
func merge(cur, upd map[string]any, path string) {
	for k, v := range upd {
		p := path + "." + k
		um, uobj := v.(map[string]any)
		cm, cobj := cur[k].(map[string]any)
		switch {
		case v == nil && p == "session.audio.input.turn_detection":
			cur[k] = nil // off: the client triggers responses
		case v == nil:
			cur[k] = nil
		case uobj && k == "format" && (!cobj || cm["type"] != um["type"]):
			cur[k] = um // another format: its members are the new type's (pcmu has no rate)
		case uobj && p == "session.audio.input.turn_detection" && (!cobj || cm["type"] != um["type"]):
			td := turnDefaults(um["type"].(string))
			merge(td, um, p)
			cur[k] = td
		case uobj && cobj && !replaced[k]:
			merge(cm, um, p)
		default:
			cur[k] = v
		}
	}
}

// published is a session as session.created and session.updated show it: a setting
// that is off is left out, as OpenAI's types have it (the docs speak of null; the
// types allow null for turn_detection only).
func published(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			if k == "turn_detection" {
				out[k] = nil
			}
		case map[string]any:
			out[k] = published(v)
		default:
			out[k] = v
		}
	}
	return out
}

// lookup returns the member at a dotted path of a session, or nil.
func lookup(m map[string]any, path string) any {
	var v any = m
	for k := range strings.SplitSeq(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// clone deep-copies a session through JSON.
func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// applyUpdate checks and merges one session.update (its raw JSON). It returns the new
// session, or the error that refused the whole update (the session then is unchanged).
func applyUpdate(cur map[string]any, raw []byte, spoke bool) (map[string]any, *paramError) {
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&ev); err != nil {
		return nil, &paramError{"invalid_json", "", "The event could not be parsed: " + err.Error()}
	}
	for k := range ev {
		if k != "type" && k != "event_id" && k != "session" {
			return nil, unknownParam(k)
		}
	}
	upd, ok := ev["session"].(map[string]any)
	if !ok {
		return nil, &paramError{"missing_required_parameter", "session", "Missing required parameter: 'session'."}
	}
	if _, ok := upd["type"]; !ok {
		return nil, &paramError{"missing_required_parameter", "session.type", "Missing required parameter: 'session.type'."}
	}
	if err := sessionUpdate("session", upd); err != nil {
		return nil, err
	}
	if m, ok := upd["model"]; ok && m != cur["model"] {
		return nil, invalid("session.model", "the model of a session cannot change.")
	}
	model, _ := cur["model"].(string)
	if err := modelChecks(model, upd); err != nil {
		return nil, err
	}
	if t, ok := upd["tracing"]; ok && cur["tracing"] != nil && !reflect.DeepEqual(t, cur["tracing"]) {
		// "Once tracing is enabled for a session, the configuration cannot be modified."
		return nil, invalid("session.tracing", "tracing cannot be modified once it is enabled for a session.")
	}
	if v := lookup(upd, "audio.output.voice"); v != nil && spoke && !reflect.DeepEqual(v, lookup(cur, "audio.output.voice")) {
		// As the API words it (openai-agents-python#1661); it names no param.
		return nil, &paramError{"cannot_update_voice", "", "Cannot update a conversation's voice if assistant audio is present."}
	}
	next := clone(cur)
	merge(next, upd, "session")
	return next, nil
}

// typed decodes a session object into callagent's type (what tests inspect).
func typed(m map[string]any) realtime.SessionConfig {
	b, _ := json.Marshal(m)
	var cfg realtime.SessionConfig
	_ = json.Unmarshal(b, &cfg)
	return cfg
}

// strictFields refuses a client event with a member its type does not have, as the
// API refuses unknown parameters. (session.update is checked in full by
// sessionUpdate; here items are checked against the union of item members only.)
func strictFields(data []byte, ev realtime.ClientEvent) *paramError {
	if _, ok := ev.(*realtime.UnknownEvent); ok {
		return nil // a type this package has no struct for: nothing to check against
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return &paramError{"invalid_json", "", err.Error()}
	}
	delete(members, "type")
	if _, ok := ev.(*realtime.SessionUpdate); ok {
		delete(members, "session")
	}
	b, _ := json.Marshal(members)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(reflect.TypeOf(ev).Elem()).Interface()); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return unknownParam(strings.Trim(f, `"`))
		}
	}
	return nil
}

// clientEventID is the event_id of a client event, or "".
func clientEventID(data []byte) string {
	var ev struct {
		EventID string `json:"event_id"`
	}
	_ = json.Unmarshal(data, &ev)
	return ev.EventID
}
