package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Without OTEL_* (or switched off) there is no tracer: nothing is exported, no
// goroutine starts, nothing is dialed; a nil Tracer takes every call.
func TestFaultOffByDefault(t *testing.T) {
	leakcheck.Check(t)
	var hits int
	var mu sync.Mutex
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	defer collector.Close()
	before := runtime.NumGoroutine()
	for name, env := range map[string]map[string]string{
		"nothing set":   {},
		"sdk disabled":  {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL},
		"exporter none": {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL},
		"only a name":   {"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"},
	} {
		tr, err := Setup(Options{Getenv: envOf(env)})
		if err != nil || tr != nil {
			t.Fatalf("%s: Setup = %v, %v; want nil, nil", name, tr, err)
		}
		for _, ev := range oneCall("CA0123", time.Now()) {
			tr.Observe(ev)
		}
		if tr.TraceParent("CA0123", "call_1") != "" {
			t.Errorf("%s: a traceparent without tracing", name)
		}
		base := http.DefaultTransport
		if tr.Transport(base) != base {
			t.Errorf("%s: the Twilio transport is wrapped without tracing", name)
		}
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after, %d before", n, before)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Fatalf("the collector got %d requests", hits)
	}
}

func TestSetupErrors(t *testing.T) {
	for name, c := range map[string]struct {
		env  map[string]string
		want string
	}{
		"grpc":         {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTLP/HTTP only (http/protobuf)"},
		"traces grpc":  {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc"},
		"json":         {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "http/protobuf"},
		"zipkin":       {map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "OTLP only"},
		"sampler":      {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "jaeger_remote"}, "OTEL_TRACES_SAMPLER"},
		"ratio":        {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, "between 0 and 1"},
		"endpoint":     {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "not an http(s) URL"},
		"bad header":   {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_HEADERS": "api-key"}, "key=value"},
		"bad encoding": {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cr%zzet"}, "percent-encoded"},
		"secret in URL": {map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://user:s3cret@c/v1/traces"},
			"ftp://c/v1/traces"},
	} {
		tr, err := Setup(Options{Getenv: envOf(c.env)})
		if err == nil {
			tr.Shutdown(context.Background())
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cr") {
			t.Errorf("%s: %v, want %q and no secret", name, err, c.want)
		}
	}
}

// exports collects what a collector on loopback receives, by path.
type exports struct {
	mu    sync.Mutex
	paths []string
	hdrs  []http.Header
}

func (e *exports) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	e.mu.Lock()
	e.paths = append(e.paths, r.URL.Path)
	e.hdrs = append(e.hdrs, r.Header.Clone())
	e.mu.Unlock()
}

// The endpoint gets /v1/traces; the traces endpoint is used as given; headers are
// percent-decoded, the traces-only list winning.
func TestEndpoints(t *testing.T) {
	leakcheck.Check(t)
	e := &exports{}
	collector := httptest.NewServer(e)
	defer collector.Close()
	for _, env := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL + "/otlp/", "OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=x%20y",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "a=2"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.URL + "/custom"},
	} {
		tr, err := Setup(Options{Getenv: envOf(env)})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range oneCall("CA0123", time.Now()) {
			tr.Observe(ev)
		}
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if strings.Join(e.paths, " ") != "/otlp/v1/traces /custom" {
		t.Fatalf("exported to %q", e.paths)
	}
	if h := e.hdrs[0]; h.Get("A") != "2" || h.Get("B") != "x y" {
		t.Fatalf("headers %v", h)
	}
}

// oneCall is a call's events as a session and the server emit them.
func oneCall(sid string, t0 time.Time) []callevent.Event {
	h := func(ms int) callevent.Header {
		return callevent.Header{Time: t0.Add(time.Duration(ms) * time.Millisecond), CallSID: sid}
	}
	return []callevent.Event{
		callevent.HTTPRequest{Header: h(5), Method: "POST", Path: "/incoming-call", Status: 200, Duration: 5 * time.Millisecond},
		callevent.CallStarted{Header: h(100), From: "+15550100001", To: "+15550100002"},
		callevent.SpeechStopped{Header: h(1000)},
		callevent.CallerTranscript{Header: h(1100), Text: "my card number is 4111"},
		callevent.ToolCall{Header: h(1200), CallID: "call_1", Name: "lookup", Arguments: `{"card":"4111"}`},
		callevent.ToolResult{Header: h(1300), CallID: "call_1", Name: "lookup", Output: "balance 12", Duration: 100 * time.Millisecond},
		callevent.TurnLatency{Header: h(1500), ResponseID: "resp_1", Latency: 500 * time.Millisecond},
		callevent.ResponseDone{Header: h(2000), ResponseID: "resp_1", Status: "completed", Usage: &callevent.Usage{InputTokens: 3, OutputTokens: 4, TotalTokens: 7}},
		callevent.CallEnded{Header: h(3000), Reason: callevent.EndCallerHangup, Turns: 1, ToolCalls: 1},
	}
}

func TestPathTemplate(t *testing.T) {
	for in, want := range map[string][2]string{
		"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA0123456789abcdef0123456789abcdef.json": {
			"/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json", "CA0123456789abcdef0123456789abcdef"},
		"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/IncomingPhoneNumbers/PN0123456789abcdef0123456789abcdef.json": {
			"/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{PhoneNumberSid}.json", ""},
		"/2010-04-01/Accounts.json": {"/2010-04-01/Accounts.json", ""},
	} {
		tmpl, sid := pathTemplate(in)
		if tmpl != want[0] || sid != want[1] {
			t.Errorf("%s → %s %s, want %v", in, tmpl, sid, want)
		}
	}
}

func TestMaskNumber(t *testing.T) {
	for in, want := range map[string]string{"+15550100001": "+15*******01", "+447700900123": "+44********23",
		"client:alice": "client:***", "": "", "1234": "12**"} {
		if got := MaskNumber(in); got != want {
			t.Errorf("MaskNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
