package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

func httpStatus(t *testing.T, u string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Issue 14, item 8: dev serves on the tunnel, which anyone who finds its URL
// reaches: /metrics is not served there.
func TestFaultDevTunnelServesNoMetrics(t *testing.T) {
	h := newDevHarness(t)
	h.start()
	defer h.stop()
	if code, _ := httpStatus(t, "http://"+h.addr+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics through dev's tunnel: %d, want 404", code)
	}
	if code, _ := httpStatus(t, "http://"+h.addr+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz through dev's tunnel: %d", code)
	}
}

func TestServeMetricsAddrOptions(t *testing.T) {
	o, err := parseServe(t, baseEnv, "")
	if err != nil || o.MetricsAddr != "" {
		t.Fatalf("default --metrics-addr %q, %v", o.MetricsAddr, err)
	}
	for _, v := range []string{"127.0.0.1:9090", ":9090", "off"} {
		if o, err := parseServe(t, baseEnv, "", "--metrics-addr", v); err != nil || o.MetricsAddr != v {
			t.Fatalf("--metrics-addr %s: %q, %v", v, o.MetricsAddr, err)
		}
	}
	env := map[string]string{"CALLAGENT_METRICS_ADDR": ":9090"}
	for k, v := range baseEnv {
		env[k] = v
	}
	if o, err := parseServe(t, env, ""); err != nil || o.MetricsAddr != ":9090" {
		t.Fatalf("CALLAGENT_METRICS_ADDR: %q, %v", o.MetricsAddr, err)
	}
	for _, bad := range [][]string{{"--metrics-addr", "9090"}, {"--addr", ":9000", "--metrics-addr", ":9000"}} {
		_, err := parseServe(t, baseEnv, "", bad...)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--metrics-addr") {
			t.Errorf("%v: err = %v, want a usage error about --metrics-addr", bad, err)
		}
	}
}

// serve --metrics-addr: /metrics on its own listener, 404 on --addr.
func TestFaultServeMetricsAddr(t *testing.T) {
	leakcheck.Check(t)
	model := &realtimetest.Model{APIKey: "sk-test"}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()
	defer model.Close()
	f, _, errOut := testFactory()
	out := &syncbuf.Buffer{}
	f.IO.Out = out
	opts := &serveOptions{Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", PublicURL: "https://calls.example.com",
		agentOverrides: agentOverrides{Model: "gpt-realtime", Voice: "marin"},
		DrainTimeout:   time.Second, LogFormat: "json", LogLevel: "info", AuthToken: "tok",
		commonOptions: commonOptions{APIKey: "sk-test", BaseURL: modelSrv.URL + "/v1", callLog: callLogOptions{Dir: t.TempDir()}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveRun(ctx, f, opts) }()
	addr, metrics := "", ""
	deadline := time.After(10 * time.Second)
	for addr == "" {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, errOut)
		case <-deadline:
			t.Fatalf("serve did not start:\n%s", out)
		case <-time.After(5 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "callagent serving" {
				addr, _ = line["listen"].(string)
				metrics, _ = line["metrics"].(string)
			}
		}
	}
	if code, _ := httpStatus(t, "http://"+addr+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on --addr: %d, want 404", code)
	}
	if !strings.HasPrefix(metrics, "http://127.0.0.1:") || strings.Contains(metrics, addr) {
		t.Fatalf("logged metrics address %q", metrics)
	}
	if code, body := httpStatus(t, metrics); code != http.StatusOK || !strings.Contains(body, "callagent_calls_active") {
		t.Errorf("/metrics on --metrics-addr: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
