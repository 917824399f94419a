package cmd

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/inspector"
)

// A call dev recorded, replayed through the inspector's endpoint: it passes
// against the same configuration; once the weather tool is gone from the file
// (re-read at each replay) it reports the changed tool calls. The replay's
// temporary directory is removed.
func TestInspectorReplaysADevCall(t *testing.T) {
	leakcheck.Check(t)
	state, cfg, sid, recDir := recordDevCall(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f, _, _ := logsFactory(state, "")
	logDir, err := callLogDir("", f.Env)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	token, _ := inspector.NewToken()
	h, err := inspector.New(inspector.Options{LogDir: logDir, RecordDir: recDir, Token: token,
		Port: srv.Listener.Addr().(*net.TCPAddr).Port, Replay: inspectReplay(f.Env, cfg, logDir, recDir, nil)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()

	replay := func() inspector.ReplayResult {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/api/calls/"+sid[:20]+"/replay", nil)
		req.Header.Set(inspector.TokenHeader, token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var got inspector.ReplayResult
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
			t.Fatalf("replay: %d %v", res.StatusCode, err)
		}
		return got
	}
	same := replay()
	if !same.Passed || len(same.Failures) != 0 || same.CallSID == "" || same.CallSID == sid ||
		!slices.Equal(same.ExpectedTools, []string{"weather"}) || !slices.Equal(same.ActualTools, []string{"weather"}) ||
		same.ExpectedEnding != "caller_hangup" || same.ActualEnding != "caller_hangup" {
		t.Fatalf("replay against the same configuration: %+v", same)
	}

	if err := os.WriteFile(cfg, []byte(fromCallConfig("hang_up")), 0o644); err != nil {
		t.Fatal(err)
	}
	less := replay()
	if less.Passed || !slices.Equal(less.ExpectedTools, []string{"weather"}) || len(less.ActualTools) != 0 ||
		!slices.Contains(less.Failures, "expected the tool calls, in order: weather; the call made: none") {
		t.Fatalf("replay without the weather tool: %+v", less)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
