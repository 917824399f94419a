package calllog_test

import (
	"testing"

	"github.com/callagent/callagent/pkg/calllog"
)

// benchSecrets are what a dev run knows: OpenAI's key, Twilio's token, two tool
// header values (one with the characters every encoding changes).
var benchSecrets = []string{"sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", "f0e1d2c3b4a5968778695a4b3c2d1e0f",
	"tool-key-12345678", `p"a\ss&<w>rd-42`}

// BenchmarkRedact measures the writer's per-line cost: a line with no secret (the
// common case) and one with a secret in it.
func BenchmarkRedact(b *testing.B) {
	clean := []byte(`{"time":"2026-11-23T10:00:01.5Z","level":"info","ns":"callagent:session","type":"tool.result","call_sid":"CA0123456789abcdef0123456789abcdef","fields":{"call_id":"call_abc123","name":"lookup_order","output":"{\"order\":\"A-1234\",\"status\":\"shipped\",\"eta\":\"tomorrow between 9 and 11\"}","duration":125000000}}`)
	dirty := []byte(`{"time":"2026-11-23T10:00:01.5Z","level":"info","ns":"callagent:session","type":"tool.result","call_sid":"CA0123456789abcdef0123456789abcdef","fields":{"call_id":"call_abc123","name":"lookup_order","output":"{\"order\":\"A-1234\",\"echo\":\"tool-key-12345678\",\"eta\":\"tomorrow between 9 and 11\"}","duration":125000000}}`)
	r := calllog.NewRedactor(benchSecrets...)
	for _, c := range []struct {
		name string
		line []byte
	}{{"clean", clean}, {"secret", dirty}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.line)))
			for b.Loop() {
				r.Redact(c.line)
			}
		})
	}
}
