package cmd

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/redact"
	"github.com/callagent/callagent/pkg/inspector"
	"github.com/callagent/callagent/pkg/offlinecall"
)

// configPage is what the test reads of /api/calls/{sid} (its own types: the
// test reads the JSON a browser reads).
type configPage struct {
	ConfigRecorded bool `json:"config_recorded"`
	Configs        []struct {
		Agent, Engine, Model, Voice, Instructions, Greeting, Hash string
		TurnDetection                                             json.RawMessage `json:"turn_detection"`
		Tools                                                     []configTool
	} `json:"configs"`
	Replays []replayResult `json:"replays"`
}

type configTool struct {
	Name, Kind, Method, URL string
	NeedsApproval           bool `json:"needs_approval"`
	Headers                 []string
}

type replayResult struct {
	Passed           bool
	CallSID          string `json:"call_sid"`
	Overrides        []string
	ConfigHash       string `json:"config_hash"`
	ReplayConfigHash string `json:"replay_config_hash"`
	ConfigChanged    bool   `json:"config_changed"`
	At               time.Time
}

// A dev call (dev run with --voice ash) records the agent configuration it ran
// with: its name, voice (the override), tools with their kind and an HTTP
// tool's method, URL and header names, and a hash; the inspector shows it in
// the call's JSON. The ${TOOL_SECRET} of the tool's header (and of its URL's
// query) is in neither the call log nor the answer, in any encoding the
// redactor knows. The call's replay from dev's inspector runs with dev's
// --voice (the same agent: the hashes match, no change), and is listed with
// the call after a reload.
func TestFaultCallConfigRecordedAndReplayedWithDevOverrides(t *testing.T) {
	leakcheck.Check(t)
	h := newDevHarness(t)
	brain := &offlinecall.Brain{}
	model := brain.Model()
	modelSrv := httptest.NewServer(model)
	t.Cleanup(func() {
		model.Close()
		modelSrv.Close()
	})
	h.env["OPENAI_BASE_URL"] = modelSrv.URL + "/v1"
	h.env["TOOL_SECRET"] = toolSecret
	state := h.env["CALLAGENT_STATE_DIR"]
	cfg := filepath.Join(t.TempDir(), "callagent.yaml")
	os.WriteFile(cfg, []byte(fromCallConfig("weather, hang_up, lookup")+
		"  - name: lookup\n    description: Look up an order.\n    needs_approval: true\n    http:\n"+
		"      url: http://127.0.0.1:9/orders/${TOOL_SECRET}?key=${TOOL_SECRET}\n      method: GET\n      headers:\n        X-Api-Key: ${TOOL_SECRET}\n"), 0o644)
	h.start("--config", cfg, "--voice", "ash")
	stopped := false
	defer func() {
		if !stopped { // a failure: dev still runs
			h.stop()
		}
	}()
	base, token := h.inspectURL()
	recDir := filepath.Join(state, "recordings")

	sid := "CA0000000000000000000000000000cf01"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	caller := h.place(ctx, sid)
	runner := &offlinecall.Runner{Caller: caller}
	if err := runner.Run(ctx, &offlinecall.Scenario{Turns: []offlinecall.Turn{{Say: "weather in Rome?"}, {Hangup: true}}}); err != nil {
		t.Fatal(err)
	}
	caller.Close()
	h.waitOut("● call ended")
	wav := filepath.Join(recDir, sid+".wav")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(wav); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recording %s\n%s", wav, h.errOut)
		}
	}

	do := func(method, path string) []byte {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
		req.Header.Set(inspector.TokenHeader, token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s %s: HTTP %d %v\n%s", method, path, res.StatusCode, err, b)
		}
		return b
	}
	raw := do("GET", "/api/calls/"+sid)
	var page configPage
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatal(err)
	}
	if !page.ConfigRecorded || len(page.Configs) != 1 {
		t.Fatalf("the call's page has no agent configuration: %s", raw)
	}
	c := page.Configs[0]
	if c.Agent != "front" || c.Voice != "ash" || c.Engine != "realtime" || c.Model == "" || c.Instructions != "Help the caller." ||
		!strings.Contains(c.Greeting, "Hi.") || len(c.Hash) != 12 || !strings.Contains(string(c.TurnDetection), `"silence_duration_ms":200`) {
		t.Errorf("the configuration: %+v", c)
	}
	i := slices.IndexFunc(c.Tools, func(t2 configTool) bool { return t2.Name == "lookup" })
	if i < 0 || c.Tools[i].Kind != "http" || c.Tools[i].Method != "GET" || !c.Tools[i].NeedsApproval ||
		c.Tools[i].URL != "http://127.0.0.1:9/orders/${TOOL_SECRET}?…" || !slices.Equal(c.Tools[i].Headers, []string{"X-Api-Key"}) {
		t.Errorf("the HTTP tool: %+v", c.Tools)
	}
	if j := slices.IndexFunc(c.Tools, func(t2 configTool) bool { return t2.Name == "weather" }); j < 0 || c.Tools[j].Kind != "builtin" {
		t.Errorf("the weather tool: %+v", c.Tools)
	}
	checkNoSecretAnywhere(t, "the call's JSON", string(raw))

	var logs strings.Builder
	filepath.WalkDir(filepath.Join(state, "calls"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			logs.Write(b)
		}
		return nil
	})
	if !strings.Contains(logs.String(), `"type":"call.config"`) {
		t.Fatalf("the call log has no call.config:\n%s", logs.String())
	}
	checkNoSecretAnywhere(t, "the call log", logs.String())

	var res replayResult
	if err := json.Unmarshal(do("POST", "/api/calls/"+sid+"/replay"), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Passed || !slices.Equal(res.Overrides, []string{"--voice ash"}) || res.ConfigHash != c.Hash ||
		res.ReplayConfigHash != c.Hash || res.ConfigChanged {
		t.Errorf("the replay from dev (with its --voice ash) is not of the agent dev ran: %+v (the call's hash %s)", res, c.Hash)
	}
	page = configPage{}
	json.Unmarshal(do("GET", "/api/calls/"+sid), &page)
	if len(page.Replays) != 1 || page.Replays[0].CallSID != res.CallSID || !page.Replays[0].Passed || page.Replays[0].At.IsZero() {
		t.Errorf("the replay is not kept with the call: %+v", page.Replays)
	}
	stopped = true
	h.stop()
}

// checkNoSecretAnywhere is checkNoSecret and every form internal/redact knows.
func checkNoSecretAnywhere(t *testing.T, where, text string) {
	t.Helper()
	checkNoSecret(t, where, text)
	for _, f := range redact.Forms(toolSecret) {
		if strings.Contains(text, f) {
			t.Errorf("%s holds the tool secret as %q", where, f)
		}
	}
}
