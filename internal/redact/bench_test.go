package redact_test

import (
	"testing"

	"github.com/callagent/callagent/internal/redact"
)

var benchSecrets = []string{"sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", "f0e1d2c3b4a5968778695a4b3c2d1e0f",
	"tool-key-12345678", `p"a\ss&<w>rd-42`}

// BenchmarkNew is the cost of computing every form, once per configuration.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		redact.New(benchSecrets...)
	}
	b.ReportMetric(float64(redact.New(benchSecrets...).Len()), "forms")
}

// BenchmarkReplace is the per-line cost: a call log line without a secret.
func BenchmarkReplace(b *testing.B) {
	s := redact.New(benchSecrets...)
	line := []byte(`{"time":"2026-11-23T10:00:01.5Z","level":"info","ns":"callagent:session","type":"tool.result","call_sid":"CA0123456789abcdef0123456789abcdef","fields":{"call_id":"call_abc123","name":"lookup_order","output":"{\"order\":\"A-1234\",\"status\":\"shipped\",\"eta\":\"tomorrow between 9 and 11\"}","duration":125000000}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		s.Replace(line)
	}
}
