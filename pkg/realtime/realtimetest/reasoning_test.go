package realtimetest

import (
	"testing"

	"github.com/callagent/callagent/pkg/realtime"
)

// The gpt-realtime-2 generation's session options (openai@7.59.0,
// RealtimeSessionCreateRequest): the twin takes them where the types have them and
// refuses the rest, with the param's path, as the API refuses a whole update.
func TestFaultTwinChecksReasoningGenerationOptions(t *testing.T) {
	for _, tc := range []struct {
		name, model, session string
		code, param          string // "" when accepted
	}{
		{"reasoning on gpt-realtime-2", "gpt-realtime-2", `{"type":"realtime","reasoning":{"effort":"low"},"parallel_tool_calls":true}`, "", ""},
		{"reasoning on a dated 2.1 mini", "gpt-realtime-2.1-mini-2026-10-01", `{"type":"realtime","reasoning":{"effort":"xhigh"}}`, "", ""},
		{"reasoning on gpt-realtime", "gpt-realtime", `{"type":"realtime","reasoning":{"effort":"low"}}`, "unsupported_parameter", "session.reasoning"},
		{"parallel calls on a dated first generation", "gpt-realtime-2025-08-28", `{"type":"realtime","parallel_tool_calls":false}`, "unsupported_parameter", "session.parallel_tool_calls"},
		{"an effort the types lack", "gpt-realtime-2", `{"type":"realtime","reasoning":{"effort":"max"}}`, "invalid_value", "session.reasoning.effort"},
		{"parallel calls not a boolean", "gpt-realtime-2", `{"type":"realtime","parallel_tool_calls":"yes"}`, "invalid_type", "session.parallel_tool_calls"},
		{"custom voice", "gpt-realtime-2", `{"type":"realtime","audio":{"output":{"voice":{"id":"voice_123"}}}}`, "", ""},
		{"custom voice without id", "gpt-realtime-2", `{"type":"realtime","audio":{"output":{"voice":{"name":"x"}}}}`, "missing_required_parameter", "session.audio.output.voice.id"},
		{"prompt with variables", "gpt-realtime", `{"type":"realtime","prompt":{"id":"pmpt_1","version":"3","variables":{"city":"Paris"}}}`, "", ""},
		{"prompt without id", "gpt-realtime", `{"type":"realtime","prompt":{"version":"3"}}`, "missing_required_parameter", "session.prompt.id"},
		{"prompt variable a number", "gpt-realtime", `{"type":"realtime","prompt":{"id":"p","variables":{"n":1}}}`, "invalid_type", "session.prompt.variables.n"},
		{"tracing auto", "gpt-realtime", `{"type":"realtime","tracing":"auto"}`, "", ""},
		{"tracing object", "gpt-realtime", `{"type":"realtime","tracing":{"workflow_name":"w","group_id":"CA1","metadata":{"a":"b"}}}`, "", ""},
		{"tracing unknown member", "gpt-realtime", `{"type":"realtime","tracing":{"name":"w"}}`, "unknown_parameter", "session.tracing.name"},
		{"tracing other string", "gpt-realtime", `{"type":"realtime","tracing":"on"}`, "invalid_value", "session.tracing"},
		{"truncation disabled", "gpt-realtime", `{"type":"realtime","truncation":"disabled"}`, "", ""},
		{"truncation retention ratio", "gpt-realtime", `{"type":"realtime","truncation":{"type":"retention_ratio","retention_ratio":0.8,"token_limits":{"post_instructions":5000}}}`, "", ""},
		{"truncation ratio over 1", "gpt-realtime", `{"type":"realtime","truncation":{"type":"retention_ratio","retention_ratio":1.5}}`, "invalid_value", "session.truncation.retention_ratio"},
		{"truncation ratio missing", "gpt-realtime", `{"type":"realtime","truncation":{"type":"retention_ratio"}}`, "missing_required_parameter", "session.truncation.retention_ratio"},
		{"idle timeout on server_vad", "gpt-realtime", `{"type":"realtime","audio":{"input":{"turn_detection":{"type":"server_vad","idle_timeout_ms":6000}}}}`, "", ""},
		{"idle timeout on semantic_vad", "gpt-realtime", `{"type":"realtime","audio":{"input":{"turn_detection":{"type":"semantic_vad","idle_timeout_ms":6000}}}}`, "unknown_parameter", "session.audio.input.turn_detection.idle_timeout_ms"},
		{"pcma", "gpt-realtime", `{"type":"realtime","audio":{"input":{"format":{"type":"audio/pcma"}},"output":{"format":{"type":"audio/pcma"}}}}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := defaultSession("sess_1")
			cur["model"] = tc.model
			_, err := applyUpdate(cur, []byte(`{"type":"session.update","event_id":"e1","session":`+tc.session+`}`), false)
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %+v", *err)
			case tc.code != "" && err == nil:
				t.Fatalf("accepted; the API refuses it with %s at %s", tc.code, tc.param)
			case tc.code != "" && (err.code != tc.code || err.param != tc.param):
				t.Fatalf("refused with %s at %s (%s), want %s at %s", err.code, err.param, err.msg, tc.code, tc.param)
			}
		})
	}
}

// Tracing, once on, cannot be modified; stating it unchanged is not a change.
func TestFaultTwinTracingCannotChangeOnceOn(t *testing.T) {
	cur := defaultSession("sess_1")
	next, err := applyUpdate(cur, []byte(`{"type":"session.update","session":{"type":"realtime","tracing":{"group_id":"CA1"}}}`), false)
	if err != nil {
		t.Fatal(*err)
	}
	if _, err := applyUpdate(next, []byte(`{"type":"session.update","session":{"type":"realtime","tracing":{"group_id":"CA2"}}}`), false); err == nil || err.param != "session.tracing" {
		t.Fatalf("a change of tracing was not refused: %+v", err)
	}
	if _, err := applyUpdate(next, []byte(`{"type":"session.update","session":{"type":"realtime","instructions":"x"}}`), false); err != nil {
		t.Fatalf("an update without tracing: %+v", *err)
	}
	if typed(next).Tracing == nil {
		t.Fatal("the session does not keep its tracing")
	}
}

func TestReasoningModel(t *testing.T) {
	for m, want := range map[string]bool{"gpt-realtime-2": true, "gpt-realtime-2.1": true, "gpt-realtime-2.1-mini": true,
		"gpt-realtime-2.1-mini-2026-10-01": true, "gpt-realtime": false, "gpt-realtime-mini": false, "gpt-realtime-1.5": false,
		"gpt-realtime-2025-08-28": false, "gpt-4o-realtime-preview": false, "gpt-live-1": false} {
		if realtime.ReasoningModel(m) != want {
			t.Errorf("ReasoningModel(%q) = %v", m, !want)
		}
	}
}
