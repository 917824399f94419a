package cmd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// instancesDialDelay is the twin model's dial and handshake: TLS and the
// WebSocket upgrade to the API from a nearby region take a few hundred ms.
const instancesDialDelay = 300 * time.Millisecond

// Three serve processes (the binary, built here) behind HAProxy from Debian's
// package, round robin with WebSocket upgrades, on loopback: 50 calls, each a
// signed webhook and a stream through the balancer, so the webhook and the
// stream of most calls reach different instances. Every call's first agent audio
// is measured (from the webhook request, as Twilio would see it), and the twin model counts its sessions and
// what they were used for: each call's session.update lands in exactly one
// session, and the sessions no call used are bounded by the warm pools (3 ×
// --warm-sessions), not by the calls. With the old design (the webhook pre-dials,
// CALLAGENT_INSTANCES_PREDIAL=1 runs it: --warm-sessions 0) about two calls in three dial twice.
//
// Skipped without haproxy, unless CALLAGENT_REQUIRE_HAPROXY=1 (CI).
func TestFaultManyInstancesDialOnce(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CALLAGENT_REQUIRE_HAPROXY") == "1" {
			t.Fatal("haproxy is not installed (apt-get install haproxy): CALLAGENT_REQUIRE_HAPROXY=1 requires it")
		}
		t.Skip("haproxy is not installed (apt-get install haproxy)")
	}
	const instances, calls, warm, token, key = 3, 50, 4, "inst-token", "sk-inst"
	warmFlag := strconv.Itoa(warm)
	if os.Getenv("CALLAGENT_INSTANCES_PREDIAL") == "1" {
		warmFlag = "0"
	}
	dir := t.TempDir()
	t0 := time.Now()
	phase := func(what string) { t.Logf("%v: %s", time.Since(t0).Round(time.Millisecond), what) }
	// By default the instances run in this process, each through the root command
	// with the argv a user types (the same flag parsing, serveRun, Server,
	// listener, metrics registry and warm pool per instance; only the process
	// boundary is shared). CALLAGENT_INSTANCES_BINARY=1 builds the binary and runs
	// three processes instead (a cold build takes minutes on a loaded machine);
	// CALLAGENT_INSTANCES_BINARY=/path/to/callagent runs that binary (.ci/run builds
	// it once, before the tests).
	bin := ""
	if b := os.Getenv("CALLAGENT_INSTANCES_BINARY"); b != "" && b != "1" {
		bin = b
	} else if b == "1" {
		bin = filepath.Join(dir, "callagent")
		build := exec.Command("go", "build", "-o", bin, "..")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	phase("built")
	// The model: greets with 200 ms of audio; counts sessions and their use.
	var mu sync.Mutex
	var sessions []*realtimetest.ModelConn
	model := &realtimetest.Model{APIKey: key, AcceptDelay: instancesDialDelay,
		AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
			return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: silence(1600), Transcript: "Hi."}}}
		}}
	model.Script = func(ctx context.Context, c *realtimetest.ModelConn) error {
		mu.Lock()
		sessions = append(sessions, c)
		mu.Unlock()
		<-c.Done()
		return nil
	}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()
	defer model.Close()

	cfgPath := filepath.Join(dir, "callagent.yaml")
	if err := os.WriteFile(cfgPath, []byte("agents:\n  - name: front\n    instructions: Help the caller.\n    greeting: \"Hi.\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lbPort := freePort(t)
	public := "http://127.0.0.1:" + strconv.Itoa(lbPort)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var backends []string
	env := map[string]string{"OPENAI_API_KEY": key, "OPENAI_BASE_URL": modelSrv.URL + "/v1", "TWILIO_AUTH_TOKEN": token,
		"HOME": dir, "XDG_STATE_HOME": dir}
	var stops []func() error
	for i := range instances {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		backends = append(backends, addr)
		args := []string{"serve", "--addr", addr, "--public-url", public, "--insecure-http-public-url",
			"--config", cfgPath, "--metrics-addr", "off", "--skip-checks", "--no-call-log", "--log-level", "warn",
			"--warm-sessions", warmFlag, "--drain-timeout", "2s"}
		logPath := filepath.Join(dir, fmt.Sprintf("serve%d.log", i))
		log, _ := os.Create(logPath)
		if bin != "" {
			cmd := exec.Command(bin, args...)
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			cmd.Dir, cmd.Stdout, cmd.Stderr = dir, log, log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			stops = append(stops, func() error {
				_ = cmd.Process.Signal(os.Interrupt)
				timer := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
				defer timer.Stop()
				return cmd.Wait()
			})
		} else {
			f, _, _ := testFactory()
			f.IO.Out, f.IO.ErrOut = log, log
			f.Env = &Env{Getenv: func(k string) string { return env[k] }, Path: "/nonexistent/.env"}
			root := NewRootCmd(f)
			root.SetArgs(args)
			sctx, scancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- root.ExecuteContext(sctx) }()
			stops = append(stops, func() error {
				scancel()
				select {
				case err := <-done:
					return err
				case <-time.After(10 * time.Second):
					return fmt.Errorf("did not drain")
				}
			})
		}
		i := i
		defer func() {
			if err := stops[i](); err != nil {
				t.Errorf("serve %d: %v", i, err)
			}
			if t.Failed() {
				out, _ := os.ReadFile(logPath)
				t.Logf("serve %d:\n%s", i, out)
			}
		}()
	}
	for _, b := range backends {
		waitHTTP(ctx, t, "http://"+b+"/readyz")
	}

	cfg := "global\n  maxconn 1000\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n  timeout tunnel 60s\n" +
		"frontend calls\n  bind 127.0.0.1:" + strconv.Itoa(lbPort) + "\n  default_backend serve\n" +
		"backend serve\n  balance roundrobin\n  option httpchk GET /readyz\n"
	for i, b := range backends {
		cfg += fmt.Sprintf("  server s%d %s check inter 500ms\n", i, b)
	}
	cfgFile := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	lb := exec.Command(haproxy, "-db", "-f", cfgFile)
	lbLog, _ := os.Create(filepath.Join(dir, "haproxy.log"))
	lb.Stdout, lb.Stderr = lbLog, lbLog
	if err := lb.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = lb.Process.Kill()
		_ = lb.Wait()
	}()
	waitHTTP(ctx, t, public+"/healthz")
	phase("balancer up")
	time.Sleep(2 * instancesDialDelay) // the pools' first sessions

	// 50 calls, 5 at a time, up to 10 a second: each waits for the greeting's
	// first audio and hangs up.
	firsts := make([]time.Duration, calls)
	errs := make(chan error, calls)
	sem := make(chan struct{}, 5)
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for i := range calls {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sid := fmt.Sprintf("CAinst%032d", i)
			// From the webhook: PlaceCall returns after the stream's start, by
			// which time a warm session's greeting may already be arriving.
			placed := time.Now()
			caller, err := twiliotest.PlaceCall(ctx, twiliotest.CallOptions{Webhook: public + "/incoming-call", AuthToken: token,
				AllowInsecureStream: true, CallSID: sid, AccountSID: "ACinst", From: "+15550100001", To: "+15550100002", HTTPClient: client})
			if err != nil {
				errs <- fmt.Errorf("call %d: %w", i, err)
				return
			}
			defer caller.Close()
			if err := caller.WaitReceived(ctx, 1); err != nil {
				errs <- fmt.Errorf("call %d: no agent audio: %w", i, err)
				return
			}
			firsts[i] = time.Since(placed)
			_ = caller.Hangup()
			if err := caller.WaitClosed(ctx); err != nil {
				errs <- fmt.Errorf("call %d: %w", i, err)
			}
		}()
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	phase("calls done")
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	// Every call's session ended before the instances are stopped: count now.
	mu.Lock()
	all := slices.Clone(sessions)
	mu.Unlock()
	used, unused := 0, 0
	for _, c := range all {
		switch n := len(c.Received(realtime.TypeSessionUpdate)); {
		case n == 0:
			unused++
		case n > 1:
			t.Errorf("session %d got %d session.updates: more than one call's settings", c.ID, n)
			used++
		default:
			used++
		}
	}
	slices.Sort(firsts)
	t.Logf("first agent audio from the webhook request (webhook, stream start, greeting), %d calls through %d instances (warm-sessions %s, model dial %v): p50 %v p90 %v max %v",
		calls, instances, warmFlag, instancesDialDelay, firsts[calls/2].Round(time.Millisecond), firsts[calls*9/10].Round(time.Millisecond),
		firsts[calls-1].Round(time.Millisecond))
	t.Logf("model sessions: %d dialed, %d used by a call, %d used by none", len(all), used, unused)
	if used != calls {
		t.Errorf("%d model sessions carried a call, want %d", used, calls)
	}
	if unused > instances*warm {
		t.Errorf("%d model sessions dialed and used by no call (more than the pools' %d): calls dialed the model twice", unused, instances*warm)
	}
}

func silence(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xFF
	}
	return b
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitHTTP(ctx context.Context, t *testing.T, u string) {
	t.Helper()
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not answer: %v", u, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
