package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/telemetry"
)

// serveWithEnv runs serve with env as its environment until the returned stop,
// which cancels it and returns serveRun's result; addr is where it listens ("" if
// it ended at start, with err).
func serveWithEnv(t *testing.T, env map[string]string) (addr string, stop func() error, startErr error) {
	t.Helper()
	model := &realtimetest.Model{APIKey: "sk-test"}
	modelSrv := httptest.NewServer(model)
	t.Cleanup(func() { modelSrv.Close(); model.Close() })
	f, _, _ := testFactory()
	f.Env.Getenv = func(k string) string { return env[k] }
	out := &syncbuf.Buffer{}
	f.IO.Out = out
	opts := &serveOptions{Addr: "127.0.0.1:0", PublicURL: "https://calls.example.com", agentOverrides: agentOverrides{Model: "gpt-realtime", Voice: "marin"},
		DrainTimeout: time.Second, LogFormat: "json", LogLevel: "info", AuthToken: "tok",
		commonOptions: commonOptions{APIKey: "sk-test", BaseURL: modelSrv.URL + "/v1", callLog: callLogOptions{Dir: t.TempDir()}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveRun(ctx, f, opts) }()
	for addr == "" {
		select {
		case err := <-done:
			cancel()
			return "", nil, err
		case <-time.After(5 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "callagent serving" {
				addr, _ = line["listen"].(string)
			}
		}
	}
	return addr, func() error { cancel(); return <-done }, nil
}

// serve with OTEL_EXPORTER_OTLP_ENDPOINT exports the webhook's span, in the
// CallSid's trace, by the time it returns; with the grpc protocol it does not start.
func TestServeTraces(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	var spans []*tracepb.Span
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
	}))
	defer collector.Close()

	_, _, err := serveWithEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "http/protobuf") {
		t.Fatalf("serve with the grpc protocol: %v, want a usage error naming http/protobuf", err)
	}

	addr, stop, err := serveWithEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"CallSid": {"CAtraced"}, "From": {"+15550100001"}, "To": {"+15550100002"}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/incoming-call", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signForTest("tok", "https://calls.example.com/incoming-call", form))
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	client.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	tid, callID := telemetry.TraceID("CAtraced"), telemetry.CallSpanID("CAtraced")
	for _, s := range spans {
		if s.Name == "POST /incoming-call" && bytes.Equal(s.TraceId, tid[:]) && bytes.Equal(s.ParentSpanId, callID[:]) {
			return
		}
	}
	t.Fatalf("no webhook span of the call among %d exported", len(spans))
}
