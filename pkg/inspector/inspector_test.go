package inspector

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// t0 is the start of the fixture's first call.
var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const (
	sidTool  = "CA00000000000000000000000000000001" // a tool call and a barge-in
	sidShort = "CA00000000000000000000000000000002" // ended by the agent
	sidLive  = "CA00000000000000000000000000000003" // in progress
	// secret is configured for redaction; the tool's arguments carry it.
	secret = `s3"cr\et&<v>/al'ue-42`
)

// fixture writes three calls with calllog's Writer (redacting secret) and a
// stereo recording of the first, and returns the two directories.
func fixture(t *testing.T) (logDir, recDir string) {
	t.Helper()
	logDir, recDir = t.TempDir(), t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: logDir, Redactor: calllog.NewRedactor(secret)})
	at := func(sid string, ms int) callevent.Header {
		return callevent.Header{Time: t0.Add(time.Duration(ms) * time.Millisecond), CallSID: sid}
	}
	args, _ := json.Marshal(map[string]string{"account": "A-17", "api_key": secret, "b64": base64.StdEncoding.EncodeToString([]byte(secret))})
	frame, _ := json.Marshal(map[string]string{"event": "mark", "note": "key " + url.QueryEscape(secret)})
	cost := 0.0123
	for _, ev := range []callevent.Event{
		callevent.HTTPRequest{Header: at(sidTool, -40), Method: "POST", Path: "/incoming-call", Status: 200, From: "+15550001", To: "+15550002"},
		callevent.CallStarted{Header: at(sidTool, 0), From: "+15550001", To: "+15550002"},
		callevent.RawFrame{Header: at(sidTool, 5), Source: callevent.SourceTwilio, Type: "mark", Data: frame},
		callevent.RawFrame{Header: at(sidTool, 6), Source: callevent.SourceRealtime, Sent: true, Type: "session.update", Data: []byte(`{"type":"session.update"}`)},
		callevent.SpeechStarted{Header: at(sidTool, 1000), ItemID: "item_c1"},
		callevent.SpeechStopped{Header: at(sidTool, 2500), ItemID: "item_c1"},
		callevent.CallerTranscript{Header: at(sidTool, 2700), ItemID: "item_c1", Text: "What is my balance?"},
		callevent.ToolCall{Header: at(sidTool, 2800), CallID: "call_1", Name: "crm_lookup", Arguments: string(args)},
		callevent.ToolApprovalRequested{Header: at(sidTool, 2810), CallID: "call_1", Name: "crm_lookup", Arguments: string(args)},
		callevent.ToolApprovalDecided{Header: at(sidTool, 3000), CallID: "call_1", Name: "crm_lookup", Approved: true},
		callevent.ToolResult{Header: at(sidTool, 3300), CallID: "call_1", Name: "crm_lookup", Output: `{"balance":"12.50"}`, Duration: 300 * time.Millisecond},
		callevent.TurnLatency{Header: at(sidTool, 3400), ResponseID: "resp_1", Latency: 900 * time.Millisecond},
		callevent.AgentTranscriptDelta{Header: at(sidTool, 3400), ResponseID: "resp_1", ItemID: "item_a1", Delta: "Your balance "},
		callevent.SpeechStarted{Header: at(sidTool, 4400), ItemID: "item_c2"},
		callevent.Interruption{Header: at(sidTool, 4420), ResponseID: "resp_1", Cleared: true, HeardMs: 1000,
			Truncations: []callevent.Truncation{{ItemID: "item_a1", AudioEndMs: 1000, SentMs: 2000}}},
		callevent.AgentTranscript{Header: at(sidTool, 4500), ResponseID: "resp_1", ItemID: "item_a1",
			Text: "Your balance is twelve dollars and fifty cents", Interrupted: true},
		callevent.SpeechStopped{Header: at(sidTool, 5200), ItemID: "item_c2"},
		callevent.DTMF{Header: at(sidTool, 5600), Digit: "5"},
		callevent.TurnLatency{Header: at(sidTool, 5700), ResponseID: "resp_2", Latency: 500 * time.Millisecond},
		callevent.AgentTranscript{Header: at(sidTool, 5900), ResponseID: "resp_2", ItemID: "item_a2", Text: "I promise"},
		callevent.GuardrailTripped{Header: at(sidTool, 6000), Rule: "no_promises", ItemID: "item_a2", Text: "I promise", HeardMs: 300},
		callevent.CallEnded{Header: at(sidTool, 7000), Reason: callevent.EndCallerHangup, Duration: 7 * time.Second,
			Turns: 2, Interruptions: 1, ToolCalls: 1, CostUSD: &cost},

		callevent.CallStarted{Header: at(sidShort, 60_000), From: "+15559999", To: "+15550002"},
		callevent.CallEnded{Header: at(sidShort, 62_000), Reason: callevent.EndAgentHangup, Duration: 2 * time.Second},

		callevent.CallStarted{Header: at(sidLive, 120_000), From: "+15558888", To: "+15550002"},
		callevent.ToolCall{Header: at(sidLive, 121_000), CallID: "call_9", Name: "weather", Arguments: `{}`},
	} {
		w.Event(ev)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Seven seconds of stereo at 8 kHz: the caller a ramp, the agent silence.
	n := 7 * 8000
	left, right := make([]int16, n), make([]int16, n)
	for i := range left {
		left[i] = int16(i % 2000)
	}
	var b bytes.Buffer
	if err := audio.WriteStereoWAV(&b, 8000, left, right); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(recDir, sidTool+".wav"), b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return logDir, recDir
}

type testServer struct {
	*httptest.Server
	h     *Handler
	token string
	port  int
}

// start serves an inspector over the fixture on loopback.
func start(t *testing.T, mod func(*Options)) *testServer {
	t.Helper()
	logDir, recDir := fixture(t)
	srv := httptest.NewUnstartedServer(nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	token, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{LogDir: logDir, RecordDir: recDir, Token: token, Port: port,
		Now: func() time.Time { return t0.Add(10 * time.Minute) }}
	if mod != nil {
		mod(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, h: h, token: token, port: port}
}

// get requests path with the token as a bearer header (token "" sends none).
func (s *testServer) get(t *testing.T, path, token string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (s *testServer) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	res := s.get(t, path, s.token, nil)
	b := body(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.Unmarshal([]byte(b), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
}

func TestNewRefusesWeakSettings(t *testing.T) {
	if _, err := New(Options{Token: "short", Port: 4040}); !errors.Is(err, ErrShortToken) {
		t.Errorf("short token: %v", err)
	}
	tok, _ := NewToken()
	if _, err := New(Options{Token: tok}); !errors.Is(err, ErrNoPort) {
		t.Errorf("no port: %v", err)
	}
	if len(tok) != 32 {
		t.Errorf("token %q: want 32 hex characters (128 bits)", tok)
	}
	if other, _ := NewToken(); other == tok {
		t.Error("two tokens are the same")
	}
}

func TestTokenRequired(t *testing.T) {
	s := start(t, nil)
	for _, tc := range []struct {
		name  string
		token string
		hdr   map[string]string
		want  int
	}{
		{"none", "", nil, 401},
		{"wrong bearer", strings.Repeat("0", 32), nil, 401},
		{"a prefix of it", s.token[:31], nil, 401},
		{"right bearer", s.token, nil, 200},
		{"wrong cookie", "", map[string]string{"Cookie": "callagent_inspector_" + strconv.Itoa(s.port) + "=" + strings.Repeat("a", 32)}, 401},
		{"another port's cookie", "", map[string]string{"Cookie": "callagent_inspector_1=" + s.token}, 401},
	} {
		res := s.get(t, "/api/calls", tc.token, tc.hdr)
		b := body(t, res)
		if res.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, res.StatusCode, b, tc.want)
		}
		if res.StatusCode == 401 && (strings.Contains(b, "CA000") || !strings.Contains(b, `"error"`)) {
			t.Errorf("%s: refusal %s", tc.name, b)
		}
	}
	// ?token= on a page load: a cookie, and the token leaves the address.
	res := s.get(t, "/?token="+s.token, "", nil)
	body(t, res)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("first page load: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "callagent_inspector_"+strconv.Itoa(s.port) {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Value != s.token {
		t.Fatalf("cookie: %+v", cookie)
	}
	res = s.get(t, "/api/calls", "", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
	if b := body(t, res); res.StatusCode != 200 {
		t.Fatalf("with the cookie: %d %s", res.StatusCode, b)
	}
	res = s.get(t, "/", "", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
	if b := body(t, res); res.StatusCode != 200 || !strings.Contains(b, "callagent inspector") {
		t.Fatalf("the page with the cookie: %d %s", res.StatusCode, b)
	}
	// A wrong ?token= sets nothing.
	res = s.get(t, "/?token="+strings.Repeat("1", 32), "", nil)
	body(t, res)
	if res.StatusCode != 401 || len(res.Cookies()) != 0 {
		t.Fatalf("wrong ?token=: %d cookies %v", res.StatusCode, res.Cookies())
	}
}

func TestNoWriteMethods(t *testing.T) {
	s := start(t, nil)
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		req, _ := http.NewRequest(m, s.URL+"/api/calls", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+s.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body(t, res)
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /api/calls: %d, want 405", m, res.StatusCode)
		}
	}
}

func TestHostChecked(t *testing.T) {
	s := start(t, nil)
	p := strconv.Itoa(s.port)
	for host, want := range map[string]int{
		"evil.example:" + p:       403,
		"evil.example":            403,
		"localhost:" + p:          200,
		"LOCALHOST:" + p:          200,
		"127.0.0.1:" + p:          200,
		"[::1]:" + p:              200,
		"localhost:1":             403, // another port: another inspector's name
		"127.0.0.1":               403,
		"10.0.0.1:" + p:           403,
		"localhost.evil.com:" + p: 403,
		"[::ffff:7f00:1]:" + p:    200,
	} {
		res := s.get(t, "/api/calls", s.token, map[string]string{"Host": host})
		b := body(t, res)
		if res.StatusCode != want {
			t.Errorf("Host %s: %d %s, want %d", host, res.StatusCode, b, want)
		}
	}
}

func TestNoCORS(t *testing.T) {
	s := start(t, nil)
	for _, path := range []string{"/api/calls", "/api/calls/" + sidTool, "/", "/api/calls/" + sidTool + "/audio"} {
		for _, tok := range []string{s.token, ""} {
			res := s.get(t, path, tok, map[string]string{"Origin": "https://evil.example"})
			body(t, res)
			for k := range res.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("GET %s: %s: %s", path, k, res.Header.Get(k))
				}
			}
		}
	}
	// A preflight is refused like any request without the token.
	req, _ := http.NewRequest("OPTIONS", s.URL+"/api/calls", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body(t, res)
	if res.StatusCode < 400 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
}

type callList struct {
	Calls []Call `json:"calls"`
}

func sids(l callList) string {
	var s []string
	for _, c := range l.Calls {
		s = append(s, c.SID[len(c.SID)-1:])
	}
	return strings.Join(s, ",")
}

func TestCallsListAndFilters(t *testing.T) {
	s := start(t, nil)
	var all callList
	s.getJSON(t, "/api/calls", &all)
	if got := sids(all); got != "3,2,1" {
		t.Fatalf("calls %s, want newest first 3,2,1", got)
	}
	c := all.Calls[2]
	if c.From != "+15550001" || c.To != "+15550002" || !c.Start.Equal(t0) || c.DurationMs != 7000 || c.Outcome != "caller_hangup" ||
		c.Turns != 2 || c.LatencyP50Ms != 500 || c.Interruptions != 1 || c.ToolCalls != 1 || c.CostUSD == nil || *c.CostUSD != 0.0123 ||
		!c.Recording || !c.Ended {
		t.Errorf("the tool call: %+v", c)
	}
	if live := all.Calls[0]; live.Outcome != OutcomeInProgress || live.ToolCalls != 1 || live.Ended || live.Recording {
		t.Errorf("the call in progress: %+v", live)
	}
	for q, want := range map[string]string{
		"?outcome=agent_hangup":               "2",
		"?outcome=agent_hangup,in_progress":   "3,2",
		"?q=9999":                             "2",
		"?q=ca000000000000000000000000000000": "3,2,1",
		"?q=HANGUP":                           "2,1",
		"?since=9m":                           "3,2",
		"?since=0.006d":                       "3",
		"?since=2026-11-23T10:00:30Z":         "3,2",
		"?limit=1":                            "3",
		"?q=nothing-matches":                  "",
	} {
		var l callList
		s.getJSON(t, "/api/calls"+q, &l)
		if got := sids(l); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	for _, q := range []string{"?since=yesterday", "?since=-2h", "?limit=x", "?since=1e400d"} {
		res := s.get(t, "/api/calls"+q, s.token, nil)
		if b := body(t, res); res.StatusCode != 400 || !strings.Contains(b, `"error"`) {
			t.Errorf("%s: %d %s", q, res.StatusCode, b)
		}
	}
}

func TestTimelineOfACallWithAToolAndABargeIn(t *testing.T) {
	s := start(t, nil)
	var tl Timeline
	s.getJSON(t, "/api/calls/CA0000…0001", &tl) // the list's elided form finds it
	if tl.Call == nil || tl.Call.SID != sidTool || !tl.Start.Equal(t0) || tl.DurationMs != 7000 {
		t.Fatalf("call %+v start %v duration %d", tl.Call, tl.Start, tl.DurationMs)
	}
	want := []Span{{StartMs: 1000, EndMs: 2500, ItemID: "item_c1"}, {StartMs: 4400, EndMs: 5200, ItemID: "item_c2"}}
	if len(tl.CallerSpeech) != 2 || tl.CallerSpeech[0] != want[0] || tl.CallerSpeech[1] != want[1] {
		t.Errorf("caller speech %+v", tl.CallerSpeech)
	}
	if len(tl.Answers) != 2 {
		t.Fatalf("answers %+v", tl.Answers)
	}
	if g := tl.Answers[1]; g.Guardrail != "no_promises" || !g.Cut || g.HeardMs != 300 || g.StartMs != 5700 || g.EndMs != 6000 || g.Heard != "" || g.Unheard != "" {
		t.Errorf("answer cut by a guardrail %+v", g)
	}
	a := tl.Answers[0]
	if !a.Cut || !a.Interrupted || a.HeardMs != 1000 || a.SentMs != 2000 || a.StartMs != 3400 || a.EndMs != 4420 || a.LatencyMs != 900 {
		t.Errorf("answer %+v", a)
	}
	if a.Heard+a.Unheard != a.Text || a.Heard != "Your balance is twelve " || a.Unheard != "dollars and fifty cents" {
		t.Errorf("heard %q unheard %q", a.Heard, a.Unheard)
	}
	if len(tl.Tools) != 1 {
		t.Fatalf("tools %+v", tl.Tools)
	}
	tool := tl.Tools[0]
	if tool.Name != "crm_lookup" || tool.StartMs != 2800 || tool.EndMs == nil || *tool.EndMs != 3300 || tool.DurationMs != 300 ||
		tool.Output != `{"balance":"12.50"}` || !strings.Contains(tool.Arguments, "A-17") ||
		tool.Approval == nil || tool.Approval.RequestedMs != 2810 || tool.Approval.DecidedMs == nil || *tool.Approval.DecidedMs != 3000 || !tool.Approval.Approved {
		t.Errorf("tool %+v approval %+v", tool, tool.Approval)
	}
	if len(tl.DTMF) != 1 || tl.DTMF[0] != (Key{AtMs: 5600, Digit: "5"}) {
		t.Errorf("dtmf %+v", tl.DTMF)
	}
	if len(tl.Guardrails) != 1 || tl.Guardrails[0].Rule != "no_promises" || tl.Guardrails[0].HeardMs != 300 {
		t.Errorf("guardrails %+v", tl.Guardrails)
	}
	if len(tl.Latencies) != 2 || tl.Latencies[0].LatencyMs != 900 || tl.Latencies[0].AtMs != 3400 {
		t.Errorf("latencies %+v", tl.Latencies)
	}
	if len(tl.Transcript) != 3 || tl.Transcript[0].Who != "caller" || tl.Transcript[1].Who != "agent" || !tl.Transcript[1].Interrupted {
		t.Errorf("transcript %+v", tl.Transcript)
	}
	if tl.End == nil || tl.End.Reason != "caller_hangup" || tl.End.AtMs != 7000 {
		t.Errorf("end %+v", tl.End)
	}
	for path, want := range map[string]int{"/api/calls/CA9": 404, "/api/calls/CA0000": 404, "/api/calls/..%2F..%2Fetc": 400} {
		res := s.get(t, path, s.token, nil)
		if b := body(t, res); res.StatusCode != want || !strings.Contains(b, `"error"`) {
			t.Errorf("%s: %d %s, want %d", path, res.StatusCode, b, want)
		}
	}
}

func TestSplitHeard(t *testing.T) {
	for _, tc := range []struct {
		text         string
		heard, sent  int
		wantH, wantU string
	}{
		{"one two three four", 500, 1000, "one two ", "three four"},
		{"one two three four", 0, 1000, "", "one two three four"},
		{"one two three four", 1000, 1000, "one two three four", ""},
		{"one two three four", 2000, 1000, "one two three four", ""},
		{"unbrokenword", 500, 1000, "", "unbrokenword"},
		{"héé héé héé", 500, 1000, "héé ", "héé héé"},
		{"", 500, 1000, "", ""},
		{"abc", 500, 0, "", "abc"},
	} {
		h, u := splitHeard(tc.text, tc.heard, tc.sent)
		if h != tc.wantH || u != tc.wantU {
			t.Errorf("splitHeard(%q, %d, %d) = %q, %q; want %q, %q", tc.text, tc.heard, tc.sent, h, u, tc.wantH, tc.wantU)
		}
	}
}

func TestFramesFilter(t *testing.T) {
	s := start(t, nil)
	type frames struct {
		Debug  string  `json:"debug"`
		Frames []Frame `json:"frames"`
	}
	types := func(f frames) string {
		var s []string
		for _, fr := range f.Frames {
			s = append(s, fr.Type+"@"+fr.NS+"@"+strconv.FormatInt(fr.AtMs, 10))
		}
		return strings.Join(s, " ")
	}
	for q, want := range map[string]string{
		"?debug=twilio":               "debug.frame@callagent:twilio@5",
		"?debug=realtime":             "debug.frame@callagent:realtime@6",
		"?debug=all,-twilio,-session": "debug.http@callagent:http@-40 debug.frame@callagent:realtime@6",
		"?debug=http":                 "debug.http@callagent:http@-40",
	} {
		var f frames
		s.getJSON(t, "/api/calls/"+sidTool+"/frames"+q, &f)
		if got := types(f); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	var f frames
	s.getJSON(t, "/api/calls/"+sidTool+"/frames", &f)
	if len(f.Frames) < 4 {
		t.Errorf("all frames: %s", types(f))
	}
	var win struct {
		Frames []Frame `json:"frames"`
		More   bool    `json:"more"`
	}
	s.getJSON(t, "/api/calls/"+sidTool+"/frames?from_ms=0&to_ms=5", &win)
	if len(win.Frames) != 1 || win.Frames[0].AtMs != 5 || win.More {
		t.Errorf("from_ms=0&to_ms=5: %+v", win)
	}
	s.getJSON(t, "/api/calls/"+sidTool+"/frames?debug=twilio,realtime,http&limit=2", &win)
	if len(win.Frames) != 2 || win.Frames[0].AtMs != -40 || !win.More {
		t.Errorf("limit=2: %+v", win)
	}
	for _, q := range []string{"?limit=-1", "?from_ms=1.5", "?to_ms=x"} {
		res := s.get(t, "/api/calls/"+sidTool+"/frames"+q, s.token, nil)
		if b := body(t, res); res.StatusCode != 400 || !strings.Contains(b, `"error"`) {
			t.Errorf("%s: %d %s", q, res.StatusCode, b)
		}
	}
	res := s.get(t, "/api/calls/"+sidTool+"/frames?debug=twilo", s.token, nil)
	if b := body(t, res); res.StatusCode != 400 || !strings.Contains(b, "unknown namespace") {
		t.Errorf("unknown namespace: %d %s", res.StatusCode, b)
	}
}

func TestAudioRange(t *testing.T) {
	s := start(t, nil)
	full, err := os.ReadFile(filepath.Join(s.h.opts.RecordDir, sidTool+".wav"))
	if err != nil {
		t.Fatal(err)
	}
	res := s.get(t, "/api/calls/"+sidTool+"/audio", s.token, nil)
	b := body(t, res)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "audio/wav" || b != string(full) || res.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("whole: %d %v (%d bytes of %d)", res.StatusCode, res.Header, len(b), len(full))
	}
	snd, err := audio.ReadWAV([]byte(b))
	if err != nil || snd.DurationMs() != 7000 {
		t.Errorf("recording: %v, %d ms", err, snd.DurationMs())
	}
	res = s.get(t, "/api/calls/"+sidTool+"/audio", s.token, map[string]string{"Range": "bytes=44-99"})
	b = body(t, res)
	if res.StatusCode != http.StatusPartialContent || b != string(full[44:100]) ||
		res.Header.Get("Content-Range") != "bytes 44-99/"+strconv.Itoa(len(full)) {
		t.Errorf("range: %d %v", res.StatusCode, res.Header)
	}
	res = s.get(t, "/api/calls/"+sidShort+"/audio", s.token, nil)
	if b := body(t, res); res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !strings.Contains(b, "no recording") {
		t.Errorf("no recording: %d %s", res.StatusCode, b)
	}
}

// The tool's arguments held a configured secret (raw, and base64 inside them;
// a frame held it percent-encoded): no answer of the API holds it in any form,
// whether the inspector redacts again or serves the logs as written.
func TestSecretInNoAnswer(t *testing.T) {
	for _, again := range []bool{false, true} {
		t.Run(fmt.Sprint("again=", again), func(t *testing.T) {
			s := start(t, func(o *Options) {
				if again {
					o.Redactor = calllog.NewRedactor(secret)
				}
			})
			checkNoSecret(t, s)
		})
	}
}

func checkNoSecret(t *testing.T, s *testServer) {
	js, _ := json.Marshal(secret)
	carried := []string{secret, string(js[1 : len(js)-1]), url.QueryEscape(secret), url.PathEscape(secret), html.EscapeString(secret),
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawStdEncoding.EncodeToString([]byte(secret))[:16]}
	var forms []string
	for _, c := range carried {
		for _, esc := range []bool{true, false} {
			var b bytes.Buffer
			e := json.NewEncoder(&b)
			e.SetEscapeHTML(esc)
			e.Encode(c)
			q := strings.TrimSpace(b.String())
			forms = append(forms, q[1:len(q)-1])
		}
	}
	paths := []string{"/api/calls", "/api/calls/" + sidTool, "/api/calls/" + sidTool + "/frames", "/api/calls/" + sidTool + "/frames?debug=all",
		"/api/calls/" + sidLive, "/?token=" + s.token, "/app.js"}
	for _, p := range paths {
		res := s.get(t, p, s.token, nil)
		b := body(t, res)
		if res.StatusCode >= 400 {
			t.Fatalf("%s: %d %s", p, res.StatusCode, b)
		}
		for _, f := range forms {
			if strings.Contains(b, f) {
				t.Errorf("%s holds the secret as %q:\n%s", p, f, b)
			}
		}
	}
	// The arguments are still there, the secret marked as redacted.
	res := s.get(t, "/api/calls/"+sidTool, s.token, nil)
	if b := body(t, res); !strings.Contains(b, "A-17") || !strings.Contains(b, "redacted") {
		t.Errorf("the timeline lost the arguments:\n%s", b)
	}
}

// JSON answers escape markup: a transcript that holds <script> cannot become
// HTML even when an answer is opened as a page.
func TestJSONEscapesMarkup(t *testing.T) {
	logDir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: logDir})
	h := callevent.Header{Time: t0, CallSID: sidTool}
	w.Event(callevent.CallStarted{Header: h, From: "<script>alert(1)</script>"})
	w.Event(callevent.CallerTranscript{Header: h, Text: "</script><img src=x onerror=alert(1)>"})
	w.Close()
	srv := httptest.NewUnstartedServer(nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	tok, _ := NewToken()
	hd, err := New(Options{LogDir: logDir, Token: tok, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = hd
	srv.Start()
	defer srv.Close()
	s := &testServer{Server: srv, h: hd, token: tok, port: port}
	for _, p := range []string{"/api/calls", "/api/calls/" + sidTool} {
		res := s.get(t, p, tok, nil)
		b := body(t, res)
		if strings.ContainsAny(b, "<>") || !strings.Contains(b, `\u003cscript\u003e`) || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %s", p, b)
		}
	}
}

func TestEventsDeliverAndDropSlowClients(t *testing.T) {
	leakcheck.Check(t)
	s := start(t, func(o *Options) { o.EventBuffer = 4 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	open := func() *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/events", nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("events: %d %v", res.StatusCode, res.Header)
		}
		return res
	}
	waitClients := func(n int) {
		for s.h.clientCount() != n {
			select {
			case <-ctx.Done():
				t.Fatalf("%d events clients, want %d", s.h.clientCount(), n)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	fast := open()
	defer fast.Body.Close()
	waitClients(1)
	s.h.Publish(Change{Type: ChangeStarted, CallSID: sidLive, Time: t0})
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := fast.Body.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.Index(acc, "\n\n")
				if i < 0 {
					break
				}
				lines <- acc[:i]
				acc = acc[i+2:]
			}
			if err != nil {
				return
			}
		}
	}()
	var got string
	for got == "" || strings.HasPrefix(got, ":") {
		select {
		case got = <-lines:
		case <-ctx.Done():
			t.Fatal("no event arrived")
		}
	}
	if !strings.HasPrefix(got, "data: ") || !strings.Contains(got, `"type":"call.started"`) || !strings.Contains(got, sidLive) {
		t.Fatalf("event %q", got)
	}

	fast.Body.Close()
	for range lines {
	}
	waitClients(0)

	// A client that reads nothing: once the connection's buffers are full its
	// handler cannot write, its queue fills, and it is dropped; Publish never
	// waits for it.
	slow := open()
	defer slow.Body.Close()
	waitClients(1)
	done := make(chan int)
	go func() {
		n := 0
		for s.h.Dropped() == 0 && ctx.Err() == nil {
			s.h.Publish(Change{Type: ChangeUpdated, CallSID: sidLive, Time: t0})
			n++
		}
		done <- n
	}()
	select {
	case n := <-done:
		if s.h.Dropped() != 1 {
			t.Fatalf("after %d changes, %d clients dropped", n, s.h.Dropped())
		}
	case <-ctx.Done():
		t.Fatal("Publish blocked on a slow client")
	}
	waitClients(0)
	// Its stream ends: a reader sees the end after what was queued.
	if _, err := io.Copy(io.Discard, slow.Body); err != nil && ctx.Err() != nil {
		t.Fatalf("the slow client's stream did not end: %v", err)
	}
}

// FuzzListQuery: the list's parameters never panic, and what they accept is
// sane (a since is not after now, a limit not negative).
func FuzzListQuery(f *testing.F) {
	for _, s := range []string{"2d", "36h", "90m", "0.5d", "2026-11-23T10:00:00Z", "-1h", "NaNd", "1e308d", "", "d", "9999999999h"} {
		f.Add(s, "caller_hangup,idle", "10")
	}
	now := t0
	f.Fuzz(func(t *testing.T, since, outcome, limit string) {
		q, err := parseListQuery(map[string][]string{"since": {since}, "outcome": {outcome}, "limit": {limit}}, now)
		if err != nil {
			return
		}
		if q.Limit < 0 {
			t.Fatalf("limit %d", q.Limit)
		}
		if _, perr := time.Parse(time.RFC3339, strings.TrimSpace(since)); perr != nil && q.Since.After(now) {
			t.Fatalf("since %q: %v after now", since, q.Since)
		}
		for _, o := range q.Outcomes {
			if o == "" || strings.Contains(o, ",") {
				t.Fatalf("outcome %q", o)
			}
		}
	})
}

func TestHostsAddsAName(t *testing.T) {
	s := start(t, func(o *Options) { o.Hosts = []string{"192.0.2.7", "[fd00::1]"} })
	p := strconv.Itoa(s.port)
	for host, want := range map[string]int{"192.0.2.7:" + p: 200, "[fd00::1]:" + p: 200, "192.0.2.8:" + p: 403, "192.0.2.7:1": 403} {
		res := s.get(t, "/api/calls", s.token, map[string]string{"Host": host})
		if b := body(t, res); res.StatusCode != want {
			t.Errorf("Host %s: %d %s, want %d", host, res.StatusCode, b, want)
		}
	}
}

// PublishEvent: starts and ends always, updates of a call at most every 250 ms
// of its events' time.
func TestPublishEventCoalescesUpdates(t *testing.T) {
	h, err := New(Options{Token: strings.Repeat("k", 32), Port: 4040})
	if err != nil {
		t.Fatal(err)
	}
	cl := &client{ch: make(chan []byte, 64), gone: make(chan struct{})}
	h.clients[cl] = struct{}{}
	at := func(sid string, ms int) callevent.Header {
		return callevent.Header{Time: t0.Add(time.Duration(ms) * time.Millisecond), CallSID: sid}
	}
	for _, ev := range []callevent.Event{
		callevent.CallStarted{Header: at("CA1", 0)},
		callevent.DTMF{Header: at("CA1", 10)},  // within 250 ms of the start
		callevent.DTMF{Header: at("CA1", 300)}, // an update
		callevent.DTMF{Header: at("CA2", 310)}, // another call's
		callevent.DTMF{Header: at("CA1", 400)},
		callevent.DTMF{Header: at("", 400)}, // no call
		callevent.CallEnded{Header: at("CA1", 420), Reason: callevent.EndIdle},
	} {
		h.PublishEvent(ev)
	}
	close(cl.ch)
	var got []string
	for data := range cl.ch {
		var c Change
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		got = append(got, c.Type+" "+c.CallSID+" "+c.Outcome)
	}
	want := "call.started CA1 |call.updated CA1 |call.updated CA2 |call.ended CA1 idle"
	if strings.Join(got, "|") != want {
		t.Errorf("changes:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

// FuzzSplitHeard: the two parts are the text, cut on a character boundary.
func FuzzSplitHeard(f *testing.F) {
	f.Add("It's partly cloudy in Paris, 8 degrees.", 465, 1640)
	f.Add("héé héé", 1, 3)
	f.Add("\xff\xfe abc", 5, 10)
	f.Fuzz(func(t *testing.T, text string, heard, sent int) {
		h, u := splitHeard(text, heard, sent)
		if h+u != text {
			t.Fatalf("%q + %q != %q", h, u, text)
		}
		if utf8.ValidString(text) && len(u) > 0 && !utf8.RuneStart(u[0]) {
			t.Fatalf("cut inside a character: %q | %q", h, u)
		}
	})
}

// FuzzHostAllowed: a Host is accepted only with the inspector's port and a
// loopback name or address.
func FuzzHostAllowed(f *testing.F) {
	h, err := New(Options{Token: strings.Repeat("k", 32), Port: 4040})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"localhost:4040", "127.0.0.1:4040", "[::1]:4040", "evil.example:4040", "127.0.0.1.evil:4040", "[fe80::1%lo]:4040", "0x7f.1:4040"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !h.hostAllowed(host) {
			return
		}
		name, port, err := net.SplitHostPort(host)
		if err != nil || port != "4040" {
			t.Fatalf("accepted %q", host)
		}
		if ip := net.ParseIP(name); !strings.EqualFold(name, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("accepted %q: not loopback", host)
		}
	})
}

// The page works under its own Content-Security-Policy: no inline script or
// style, nothing from another origin (no CDN), every file it names served.
func TestPageUnderItsCSP(t *testing.T) {
	s := start(t, nil)
	res := s.get(t, "/", s.token, nil)
	page := body(t, res)
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Fatalf("page %d, CSP %q", res.StatusCode, csp)
	}
	if strings.Contains(page, "<style") || strings.Contains(page, "<script>") || regexp.MustCompile(`\son[a-z]+=`).MatchString(page) ||
		strings.Contains(page, "http:") || strings.Contains(page, "https:") {
		t.Errorf("the page has inline code or a remote file:\n%s", page)
	}
	res = s.get(t, "/call.html?sid="+sidTool, s.token, nil)
	callPage := body(t, res)
	if res.StatusCode != 200 || strings.Contains(callPage, "<style") || strings.Contains(callPage, "<script>") ||
		regexp.MustCompile(`\son[a-z]+=|\sstyle=`).MatchString(callPage) || strings.Contains(callPage, "http:") || strings.Contains(callPage, "https:") {
		t.Errorf("the call page (%d) has inline code or a remote file:\n%s", res.StatusCode, callPage)
	}
	for _, f := range []struct{ path, ctype string }{{"/app.js", "javascript"}, {"/app.css", "text/css"}, {"/call.js", "javascript"}} {
		res := s.get(t, f.path, s.token, nil)
		b := body(t, res)
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), f.ctype) || !strings.Contains(page+callPage, f.path) {
			t.Errorf("%s: %d %s", f.path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if strings.Contains(b, "innerHTML") || strings.Contains(b, "https:") {
			t.Errorf("%s sets markup or loads from elsewhere", f.path)
		}
	}
}

// The list keeps the summaries of files that did not change and reads again
// those that did (a call in progress), and forgets the removed ones.
func TestListReadsOnlyChangedFiles(t *testing.T) {
	s := start(t, nil)
	var l callList
	s.getJSON(t, "/api/calls", &l)
	short, err := calllog.Find(s.h.opts.LogDir, sidShort)
	if err != nil {
		t.Fatal(err)
	}
	// The same size and time, another number: a kept summary still says 9999.
	st, _ := os.Stat(short)
	data, _ := os.ReadFile(short)
	if err := os.WriteFile(short, bytes.ReplaceAll(data, []byte("+15559999"), []byte("+15557777")), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(short, st.ModTime(), st.ModTime())
	// The call in progress logs another tool call.
	w := calllog.NewWriter(calllog.Options{Dir: s.h.opts.LogDir})
	w.Event(callevent.ToolCall{Header: callevent.Header{Time: t0.Add(125 * time.Second), CallSID: sidLive}, CallID: "call_10", Name: "weather"})
	w.Close()
	// And the first call's log is gone.
	first, _ := calllog.Find(s.h.opts.LogDir, sidTool)
	os.Remove(first)

	s.getJSON(t, "/api/calls", &l)
	if got := sids(l); got != "3,2" {
		t.Fatalf("calls %s, want 3,2", got)
	}
	if l.Calls[0].ToolCalls != 2 || l.Calls[0].DurationMs != 5000 {
		t.Errorf("the call in progress was not read again: %+v", l.Calls[0])
	}
	if l.Calls[1].From != "+15559999" {
		t.Errorf("an unchanged file was read again: %+v", l.Calls[1])
	}
	if n := len(s.h.cache.calls); n != 2 {
		t.Errorf("%d summaries kept for 2 files", n)
	}
}

// FuzzWindow: the frames' window parameters never panic, and a limit is never
// negative.
func FuzzWindow(f *testing.F) {
	for _, s := range []string{"0", "-40", "1500", "", "x", "9223372036854775808", "-1"} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, from, to, limit string) {
		w, err := parseWindow(map[string][]string{"from_ms": {from}, "to_ms": {to}, "limit": {limit}})
		if err == nil && w.limit < 0 {
			t.Fatalf("limit %d", w.limit)
		}
	})
}
