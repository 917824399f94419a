package inspector

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (s *testServer) post(t *testing.T, path string, hdr map[string]string, cookie bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if cookie {
		req.AddCookie(&http.Cookie{Name: s.h.cookie, Value: s.token})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body(t, res)
}

// A replay is a write action: it needs the token in a header (a cross-site
// form sends the cookie, never a header), and GET is refused.
func TestReplayNeedsTheTokenInAHeader(t *testing.T) {
	var ran []string
	s := start(t, func(o *Options) {
		o.Replay = func(ctx context.Context, sid string) (ReplayResult, error) {
			ran = append(ran, sid)
			return ReplayResult{Passed: false, CallSID: "CAreplay", Failures: []string{"expected the tool calls, in order: crm_lookup; the call made: none"},
				ExpectedTools: []string{"crm_lookup"}, ExpectedEnding: "caller_hangup", ActualEnding: "caller_hangup"}, nil
		}
	})
	path := "/api/calls/" + sidTool + "/replay"
	if code, b := s.post(t, path, nil, true); code != http.StatusForbidden || !strings.Contains(b, TokenHeader) {
		t.Errorf("cookie only: %d %s, want 403", code, b)
	}
	if code, _ := s.post(t, path, map[string]string{"Origin": "http://evil.example"}, true); code != http.StatusForbidden {
		t.Errorf("cross-site form (cookie only): %d, want 403", code)
	}
	if code, _ := s.post(t, path, map[string]string{TokenHeader: "x" + s.token}, true); code != http.StatusForbidden {
		t.Errorf("a wrong header token: %d, want 403", code)
	}
	if code, _ := s.post(t, path, nil, false); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if len(ran) != 0 {
		t.Fatalf("a refused request replayed %v", ran)
	}
	res := s.get(t, path, s.token, nil)
	if b := body(t, res); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d %s, want 405", res.StatusCode, b)
	}
	for _, hdr := range []map[string]string{{TokenHeader: s.token}, {"Authorization": "Bearer " + s.token}} {
		code, b := s.post(t, path, hdr, false)
		if code != 200 {
			t.Fatalf("%v: %d %s", hdr, code, b)
		}
		var got ReplayResult
		if err := json.Unmarshal([]byte(b), &got); err != nil || got.Passed || got.CallSID != "CAreplay" || len(got.Failures) != 1 ||
			got.ExpectedTools[0] != "crm_lookup" || got.ExpectedEnding != "caller_hangup" {
			t.Errorf("%v: %v %+v", hdr, err, got)
		}
	}
	if len(ran) != 2 || ran[0] != sidTool {
		t.Errorf("replayed %v, want %s twice", ran, sidTool)
	}
	if code, _ := s.post(t, "/api/calls/CA0000000000000000000000000000ffff/replay", map[string]string{TokenHeader: s.token}, false); code != http.StatusNotFound {
		t.Errorf("an unknown call: %d, want 404", code)
	}

	// The page learns the token from /api/session, which needs it already.
	var sess struct {
		Token  string
		Replay bool
	}
	s.getJSON(t, "/api/session", &sess)
	if sess.Token != s.token || !sess.Replay {
		t.Errorf("session: %+v", sess)
	}
	if res := s.get(t, "/api/session", "", nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("session without the token: %d", res.StatusCode)
	}
}

func TestReplayNotOfferedWithoutTheOption(t *testing.T) {
	s := start(t, nil)
	if code, b := s.post(t, "/api/calls/"+sidTool+"/replay", map[string]string{TokenHeader: s.token}, false); code != http.StatusNotFound {
		t.Errorf("%d %s, want 404", code, b)
	}
	var sess struct{ Replay bool }
	s.getJSON(t, "/api/session", &sess)
	if sess.Replay {
		t.Error("the session offers a replay it has not")
	}
}

// One replay at a time: a second while one runs gets 409; a replay that runs
// past its bound ends with 504.
func TestReplayOneAtATime(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	s := start(t, func(o *Options) {
		o.ReplayTimeout = 30 * time.Second
		o.Replay = func(ctx context.Context, sid string) (ReplayResult, error) {
			close(started)
			select {
			case <-release:
			case <-ctx.Done():
				return ReplayResult{}, ctx.Err()
			}
			return ReplayResult{Passed: true, CallSID: "CAreplay"}, nil
		}
	})
	path := "/api/calls/" + sidTool + "/replay"
	hdr := map[string]string{TokenHeader: s.token}
	first := make(chan int, 1)
	go func() {
		code, _ := s.post(t, path, hdr, false)
		first <- code
	}()
	select {
	case <-started:
	case code := <-first:
		t.Fatalf("the first replay ended at once: %d", code)
	}
	code, b := s.post(t, path, hdr, false)
	if code != http.StatusConflict || !strings.Contains(b, `"error"`) {
		t.Errorf("a second replay while one runs: %d %s, want 409 with an error", code, b)
	}
	close(release)
	if code := <-first; code != 200 {
		t.Errorf("the first replay: %d", code)
	}
}

func TestReplayBounded(t *testing.T) {
	s := start(t, func(o *Options) {
		o.ReplayTimeout = 50 * time.Millisecond
		o.Replay = func(ctx context.Context, sid string) (ReplayResult, error) {
			<-ctx.Done()
			return ReplayResult{}, ctx.Err()
		}
	})
	code, b := s.post(t, "/api/calls/"+sidTool+"/replay", map[string]string{TokenHeader: s.token}, false)
	if code != http.StatusGatewayTimeout {
		t.Errorf("%d %s, want 504", code, b)
	}
}
