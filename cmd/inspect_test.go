package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
)

func TestInspectOptions(t *testing.T) {
	state := t.TempDir()
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		want    inspectOptions
		wantErr string
	}{
		{args: nil, want: inspectOptions{LogDir: filepath.Join(state, "calls"), RecordDir: filepath.Join(state, "recordings")}},
		{args: []string{"--call-log-dir", "/l", "--record-dir", "/r", "--addr", "127.0.0.1:5050"},
			want: inspectOptions{Addr: "127.0.0.1:5050", LogDir: "/l", RecordDir: "/r"}},
		{env: map[string]string{"CALLAGENT_RECORD_DIR": "/rec", "CALLAGENT_CALL_LOG_DIR": "/logs"},
			want: inspectOptions{LogDir: "/logs", RecordDir: "/rec"}},
		{args: []string{"--addr", "[::1]:0"}, want: inspectOptions{Addr: "[::1]:0", LogDir: filepath.Join(state, "calls"), RecordDir: filepath.Join(state, "recordings")}},
		{args: []string{"--addr", "localhost:4041"}, want: inspectOptions{Addr: "localhost:4041", LogDir: filepath.Join(state, "calls"), RecordDir: filepath.Join(state, "recordings")}},
		{args: []string{"--addr", "192.0.2.1:4040"}, wantErr: "not a loopback address"},
		{args: []string{"--addr", "192.0.2.1:4040", "--insecure-remote"},
			want: inspectOptions{Addr: "192.0.2.1:4040", Remote: true, LogDir: filepath.Join(state, "calls"), RecordDir: filepath.Join(state, "recordings")}},
		{args: []string{"--addr", ":4040", "--insecure-remote"}, wantErr: "every interface"},
		{args: []string{"--addr", "0.0.0.0:4040", "--insecure-remote"}, wantErr: "every interface"},
		{args: []string{"--addr", "127.0.0.1"}, wantErr: "missing port"},
		{args: []string{"--addr", "127.0.0.1:http"}, wantErr: "the port must be a number"},
		{args: []string{"extra"}, wantErr: "no argument but -"},
		{args: []string{"-", "-"}, wantErr: "accepts at most 1 arg"},
		{args: []string{"-"}, want: inspectOptions{Stdin: true, LogDir: filepath.Join(state, "calls"), RecordDir: filepath.Join(state, "recordings")}},
	} {
		f, _, _ := logsFactory(state, "")
		env := tc.env
		f.Env.Getenv = func(k string) string {
			if k == "CALLAGENT_STATE_DIR" {
				return state
			}
			return env[k]
		}
		var got *inspectOptions
		root := NewRootCmd(f)
		for i, c := range root.Commands() {
			if c.Name() == "inspect" {
				root.RemoveCommand(root.Commands()[i])
				break
			}
		}
		root.AddCommand(newInspectCmd(f, func(_ context.Context, o *inspectOptions) error { got = o; return nil }))
		root.SetArgs(append([]string{"inspect"}, tc.args...))
		err := root.ExecuteContext(context.Background())
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if *got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.args, *got, tc.want)
		}
	}
}

// inspect serves the calls of the log directory, prints its URL with the
// token, pushes a line when a call is logged, and stops at Ctrl-C.
func TestInspectServesAndStops(t *testing.T) {
	leakcheck.Check(t)
	state := t.TempDir()
	h := callevent.Header{Time: time.Now().UTC(), CallSID: "CA0123456789abcdef0123456789abcdef"}
	writeLog(t, state, []callevent.Event{callevent.CallStarted{Header: h, From: "+15550100001"}})
	f, out, errOut := logsFactory(state, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		root := NewRootCmd(f)
		root.SetArgs([]string{"inspect", "--addr", "127.0.0.1:0"})
		done <- root.ExecuteContext(ctx)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "token=") {
		if time.Now().After(deadline) {
			t.Fatalf("no URL:\n%s\n%s", out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := strings.TrimSpace(out.String())
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(errOut.String(), "Ctrl-C") {
		t.Fatalf("url %q, status %q", url, errOut)
	}
	base, token, _ := strings.Cut(url, "/?token=")
	get := func(path string) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := get("/api/calls")
	var list struct {
		Calls []struct {
			SID, From, Outcome string
		} `json:"calls"`
	}
	err := json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if err != nil || len(list.Calls) != 1 || list.Calls[0].SID != h.CallSID || list.Calls[0].Outcome != "in_progress" {
		t.Fatalf("calls %+v %v", list, err)
	}
	// An events stream open at Ctrl-C does not hold the exit up.
	events := get("/api/events")
	defer events.Body.Close()
	next := make(chan string, 8)
	go func() {
		defer close(next)
		buf := make([]byte, 4096)
		for {
			n, err := events.Body.Read(buf)
			if n > 0 {
				next <- string(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	<-next // the stream's opening comment
	h.Time = h.Time.Add(time.Second)
	for got := ""; !strings.Contains(got, `"call.ended"`); {
		writeLog(t, state, []callevent.Event{callevent.CallEnded{Header: h, Reason: callevent.EndCallerHangup}})
		select {
		case s := <-next:
			got += s
		case <-time.After(5 * time.Second):
			t.Fatalf("no event for the call's end: %q", got)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("inspect: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("inspect did not stop")
	}
	for range next {
	}
}

// Without --addr, inspect takes the first free port from 4040.
func TestInspectFirstFreePort(t *testing.T) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	// Hold the first port (if another program does not already).
	if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(inspectFirstPort)); err == nil {
		held = append(held, l)
	}
	ln, err := listenInspector(context.Background(), "")
	if err != nil {
		t.Skipf("no free port near 4040 on this machine: %v", err)
	}
	defer ln.Close()
	a := ln.Addr().(*net.TCPAddr)
	if !a.IP.IsLoopback() || a.Port <= inspectFirstPort || a.Port >= inspectFirstPort+inspectPorts {
		t.Errorf("listened on %v", a)
	}
}
