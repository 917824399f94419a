//go:build linux

package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// Slow clients against a process at its file-descriptor limit (issue 14, item 1):
// the server runs in a child process with RLIMIT_NOFILE 1024 (as under
// `ulimit -n 1024`), this test opens 2,000 stalled connections to it from outside,
// then places a correctly signed call, which must be answered and heard.
//
// CALLAGENT_SOAK, the soak's multiplier k (scripts/soak), keeps the attack going
// for k × 3 s (every stalled connection the server closes is opened again) with a
// signed call placed every second, each of which must be answered and heard. Without the connection bound
// (Config.MaxConns) that fails: the accept loop takes every descriptor freed, and
// an answered call cannot dial its model.

const (
	fdServerEnv = "CALLAGENT_TEST_FDLIMIT_SERVER" // set in the child: run the server, not the tests
	fdLimit     = 1024
	fdStalled   = 2000
	// The server's timeouts: long enough for the attack to fill the bound under
	// -race on 2 cores; in a soak, shorter, for more churn (the harder case: the
	// accept loop takes freed descriptors faster).
	fdSlowTimeout     = 500 * time.Millisecond
	fdSoakSlowTimeout = 300 * time.Millisecond
	fdTimeoutEnv      = "CALLAGENT_TEST_FDLIMIT_TIMEOUT"
)

var fdAgentAudio = bytes.Repeat([]byte{0x5a, 0xa5}, 400)

func TestMain(m *testing.M) {
	if os.Getenv(fdServerEnv) != "" {
		os.Exit(fdLimitServer())
	}
	os.Exit(m.Run())
}

// fdLimitServer is the child: it lowers its own file-descriptor limit, serves on
// loopback with a fake model that answers the caller's first audio, prints its
// address and limit, and serves until its stdin closes.
func fdLimitServer() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "fdlimit server:", err); return 2 }
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: fdLimit, Max: fdLimit}); err != nil {
		return fail(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fail(err)
	}
	slow, err := time.ParseDuration(os.Getenv(fdTimeoutEnv))
	if err != nil {
		return fail(err)
	}
	model := &realtimetest.Model{APIKey: testAPIKey}
	model.Script = func(ctx context.Context, c *realtimetest.ModelConn) error {
		if c.WaitAudio(ctx, 160) == nil {
			c.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: fdAgentAudio}}})
		}
		<-c.Done()
		return nil
	}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()
	defer model.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	public := "http://" + ln.Addr().String()
	srv, err := New(Config{PublicURL: public, InsecureHTTPPublicURL: true, AuthToken: testToken,
		Dial: func(ctx context.Context, callSID string) (session.ModelLeg, error) {
			conn, err := realtime.Dial(ctx, realtime.DialOptions{BaseURL: modelSrv.URL + "/v1", APIKey: testAPIKey})
			if err != nil {
				return nil, err
			}
			return conn, nil
		},
		Session: func(call CallInfo, o *session.Options) error {
			o.CallerIdleTimeout = -1
			return nil
		},
		// The accept loop's "too many open files" goes to the log at debug.
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ReadHeaderTimeout: slow, BodyReadTimeout: slow, IdleTimeout: slow, StreamStartTimeout: slow,
	})
	if err != nil {
		ln.Close()
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	fmt.Printf("LISTEN %s NOFILE %d\n", ln.Addr(), lim.Cur)
	if err := srv.Serve(ctx, ln, time.Second); err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "fdlimit server: peak connections %d of %d\n", srv.connLimit.peak.Load(), srv.cfg.MaxConns)
	return 0
}

func TestFaultStalledClientsUnderFDLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RLIMIT_NOFILE and loopback backlog behaviour checked on Linux")
	}
	var own syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &own); err != nil || own.Cur < fdStalled+256 {
		t.Skipf("this process may open %d files; the attack needs %d", own.Cur, fdStalled+256)
	}
	soak := time.Duration(0)
	if k, err := strconv.Atoi(os.Getenv("CALLAGENT_SOAK")); err == nil && k > 1 {
		soak = time.Duration(k) * 3 * time.Second
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	slow := fdSlowTimeout
	if soak > 0 {
		slow = fdSoakSlowTimeout
	}
	child.Env = append(os.Environ(), fdServerEnv+"=1", fdTimeoutEnv+"="+slow.String())
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	childLog := &syncbuf.Buffer{}
	child.Stderr = childLog
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited, first := make(chan error, 1), make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		first <- line
		_, _ = io.Copy(io.Discard, br)
		exited <- child.Wait()
	}()
	stopChild := func() error {
		stdin.Close()
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			_ = child.Process.Kill()
			<-exited
			return errors.New("the server process did not stop; killed")
		}
	}
	var line string
	select {
	case line = <-first:
	case <-time.After(30 * time.Second):
		_ = stopChild()
		t.Fatalf("the server process did not start\n%s", childLog)
	}
	var addr string
	var nofile int
	if _, err := fmt.Sscanf(line, "LISTEN %s NOFILE %d", &addr, &nofile); err != nil {
		_ = stopChild()
		t.Fatalf("server process: %q %v\n%s", line, err, childLog)
	}
	if nofile != fdLimit {
		_ = stopChild()
		t.Fatalf("server process runs with %d files, want %d", nofile, fdLimit)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+soak)
	defer cancel()
	attackEnd := time.Now().Add(soak)
	var opened, closedByServer, dialFailed atomic.Int64
	var unclosed atomic.Value
	var slots sync.WaitGroup
	ready := make(chan struct{}, fdStalled)
	for i := range fdStalled {
		slots.Go(func() {
			for first := true; ; first = false {
				c, err := stallConn(addr, i%4)
				if first {
					ready <- struct{}{}
				}
				if err != nil {
					dialFailed.Add(1)
				} else {
					opened.Add(1)
					// The server must close it: its timeouts are 300 or 500 ms; allow far more,
					// for a server that reaches it only once earlier ones are gone.
					_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
					_, err := io.Copy(io.Discard, c)
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						unclosed.Store(fmt.Sprintf("a stalled connection (kind %d) was never closed by the server", i%4))
					} else {
						closedByServer.Add(1)
					}
					c.Close()
				}
				if time.Now().After(attackEnd) || ctx.Err() != nil {
					return
				}
			}
		})
	}
	attackStart := time.Now()
	for range fdStalled {
		<-ready
	}
	t.Logf("%d stalled connections opened in %v (%d dials failed)", opened.Load(), time.Since(attackStart).Round(time.Millisecond), dialFailed.Load())

	// The signed calls, while the stalled connections are there.
	calls := 0
	for {
		calls++
		sid := fmt.Sprintf("CAfd%04d", calls)
		start := time.Now()
		// Answered within 15 s, while the attacker holds every connection the
		// server does not close (for 30 s).
		callCtx, callDone := context.WithTimeout(ctx, 15*time.Second)
		c, err := twiliotest.PlaceCall(callCtx, twiliotest.CallOptions{Webhook: "http://" + addr + PathIncomingCall, AuthToken: testToken,
			CallSID: sid, AccountSID: "AC1", From: "+15550001111", To: "+15552223333", AllowInsecureStream: true})
		if err != nil {
			callDone()
			cancel()
			slots.Wait()
			_ = stopChild()
			t.Fatalf("signed call %d under %d stalled connections: %v\nserver: %s", calls, fdStalled, err, tail(childLog.String(), 2000))
		}
		c.Say(bytes.Repeat([]byte{1}, 160))
		err = c.WaitReceived(callCtx, len(fdAgentAudio))
		callDone()
		if err != nil {
			c.Close()
			cancel()
			slots.Wait()
			_ = stopChild()
			t.Fatalf("signed call %d: the caller heard nothing: %v", calls, err)
		}
		t.Logf("call %d answered and heard the agent after %v", calls, time.Since(start).Round(time.Millisecond))
		_ = c.Hangup()
		c.Close()
		if time.Now().After(attackEnd) {
			break
		}
		time.Sleep(time.Second)
	}
	slots.Wait()
	if err := stopChild(); err != nil {
		t.Fatalf("server process: %v\n%s", err, tail(childLog.String(), 2000))
	}
	if msg, _ := unclosed.Load().(string); msg != "" {
		t.Fatal(msg)
	}
	if dialFailed.Load() > 0 {
		t.Fatalf("%d of the stalled connections could not be opened: the attack did not run in full", dialFailed.Load())
	}
	// The attack filled what the server may hold at once: its connection bound,
	// half its file limit.
	want := fmt.Sprintf("peak connections %d of %d", DefaultMaxConns(fdLimit), DefaultMaxConns(fdLimit))
	if log := childLog.String(); !strings.Contains(log, want) {
		t.Fatalf("the server never reached its connection bound or file limit: the test did not test it\n%s", tail(log, 500))
	}
	t.Logf("%d stalled connections, all closed by the server; %d signed calls answered", closedByServer.Load(), calls)
}

// stallConn opens a connection to addr that stalls in one of four ways: headers
// that never end, a body that never ends, an idle keep-alive after one request, a
// signed media-stream upgrade that never sends its start.
func stallConn(addr string, kind int) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	var req string
	switch kind {
	case 0:
		req = "POST " + PathIncomingCall + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	case 1:
		req = "POST " + PathIncomingCall + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
			"Content-Length: 100\r\n\r\nCallSid=CA"
	case 2:
		req = "GET " + PathHealth + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	default:
		req = "GET " + PathMediaStream + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
			SignatureHeader + ": " + sign(testToken, "ws://"+addr+PathMediaStream, nil) + "\r\n\r\n"
	}
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
