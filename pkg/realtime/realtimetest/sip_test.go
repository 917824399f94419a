package realtimetest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/sipcall"
)

const (
	testSecret = "whsec_c2lwLXR3aW4tdGVzdC1zZWNyZXQ=" // "sip-twin-test-secret"
	testKey    = "sk-sip-test"
)

// sipApp is the control plane under test in these twin tests, the smallest one:
// its webhook verifies the signature (refusing 401 otherwise) and hands each
// verified incoming call on.
type sipApp struct {
	srv      *httptest.Server
	incoming chan sipcall.Incoming
	refused  chan error
}

func newSIPApp(t *testing.T) *sipApp {
	a := &sipApp{incoming: make(chan sipcall.Incoming, 8), refused: make(chan error, 8)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("User-Agent") != WebhookUserAgent {
			t.Errorf("user-agent %q", r.Header.Get("User-Agent"))
		}
		if err := sipcall.Verify(testSecret, r.Header, body, time.Now()); err != nil {
			a.refused <- err
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		in, err := sipcall.ParseIncoming(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		in.WebhookID = r.Header.Get(sipcall.HeaderID)
		a.incoming <- in
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func sipModel(t *testing.T, m *Model) (*httptest.Server, *sipcall.Client) {
	t.Helper()
	leakcheck.Check(t)
	m.APIKey = testKey
	srv := httptest.NewServer(m)
	t.Cleanup(func() { m.Close(); srv.Close() })
	return srv, sipcall.NewClient(srv.URL+"/v1", testKey, srv.Client())
}

func apiErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *sipcall.APIError
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("err = %v, want HTTP %d %s", err, status, code)
	}
}

func accepted(instructions string) map[string]any {
	return map[string]any{"type": "realtime", "model": "gpt-realtime", "instructions": instructions,
		"tools": []any{map[string]any{"type": "function", "name": "lookup_order", "description": "Find an order.",
			"parameters": map[string]any{"type": "object", "properties": map[string]any{}}}}}
}

// A SIP call against the twin, as a control plane lives it: ring, verify, accept
// with a session, sideband, the caller speaks, a tool call, the agent speaks (no
// audio on the sideband), refer; then the call is gone.
func TestSIPCallThroughTheTwin(t *testing.T) {
	m := &Model{}
	srv, api := sipModel(t, m)
	app := newSIPApp(t)
	ctx := ctxT(t)

	call, err := m.RingSIP(ctx, SIPRing{WebhookURL: app.srv.URL, Secret: testSecret, From: "sip:+15550001111@trunk.example", HTTPClient: app.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	in := <-app.incoming
	if in.Engine != sipcall.EngineRealtime || in.ID != call.ID() || in.From != "sip:+15550001111@trunk.example" || in.WebhookID != call.WebhookID() {
		t.Fatalf("incoming %+v", in)
	}
	if err := api.Accept(ctx, sipcall.EngineRealtime, in.ID, accepted("You answer the shop's phone.")); err != nil {
		t.Fatal(err)
	}
	body, err := call.Accepted(ctx)
	if err != nil || !strings.Contains(string(body), "You answer the shop's phone.") {
		t.Fatalf("accepted %s, %v", body, err)
	}

	conn, err := realtime.Dial(ctx, realtime.DialOptions{BaseURL: srv.URL + "/v1", APIKey: testKey, CallID: in.ID})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	mc, err := call.Sideband(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if q := mc.Request.URL.Query(); q.Get("call_id") != in.ID || q.Has("model") {
		t.Fatalf("sideband query %v", q)
	}
	created := next(t, conn, realtime.TypeSessionCreated).(*realtime.SessionCreated)
	if created.Session.Instructions != "You answer the shop's phone." || len(created.Session.Tools) != 1 || mc.SIPCallID() != in.ID {
		t.Fatalf("the sideband's session is not the accepted one: %+v", created.Session)
	}

	mc.CallerSays("where is my order", 0)
	tr := next(t, conn, realtime.TypeInputAudioTranscriptionCompleted).(*realtime.InputAudioTranscriptionCompleted)
	if tr.Transcript != "where is my order" {
		t.Fatalf("transcript %q", tr.Transcript)
	}
	mc.Respond(ctx, ResponseSpec{Items: []ItemSpec{{FunctionCall: &FunctionCall{Name: "lookup_order", Arguments: `{}`}}}})
	fc := next(t, conn, realtime.TypeResponseFunctionCallArgumentsDone).(*realtime.ResponseFunctionCallArgumentsDone)
	next(t, conn, realtime.TypeResponseDone)
	if err := conn.Send(ctx, &realtime.ConversationItemCreate{Item: realtime.Item{Type: realtime.ItemFunctionCallOutput, CallID: fc.CallID, Output: `{"status":"shipped"}`}}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.WaitEvent(ctx, "conversation.item.create", 1); err != nil {
		t.Fatal(err)
	}
	// The agent speaks: the transcript reaches the sideband, the audio does not.
	mc.Respond(ctx, ResponseSpec{Items: []ItemSpec{{Audio: make([]byte, 1600), Transcript: "It shipped today."}}})
	for {
		ev, err := conn.ReadEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.EventType() == realtime.TypeResponseOutputAudioDelta {
			t.Fatal("an audio delta on the sideband of a SIP call")
		}
		if ev.EventType() == realtime.TypeResponseDone {
			break
		}
	}
	// Audio from the app is refused: the SIP leg carries the caller's audio.
	if err := conn.Send(ctx, &realtime.InputAudioBufferAppend{Audio: realtime.Audio("/w==")}); err != nil {
		t.Fatal(err)
	}
	if e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent); e.Error.Type != "invalid_request_error" {
		t.Fatalf("error %+v", e.Error)
	}
	if mc.CallerAudioMs() == 0 {
		t.Fatal("the caller's speech did not advance the model's clock")
	}

	if err := api.Refer(ctx, sipcall.EngineRealtime, in.ID, "tel:+14155550199"); err != nil {
		t.Fatal(err)
	}
	<-call.Done()
	if call.ReferredTo() != "tel:+14155550199" || call.State() != SIPReferred || call.HungUp() {
		t.Fatalf("after refer: %s to %q", call.State(), call.ReferredTo())
	}
	var ce *realtime.CloseError
	if _, err := conn.ReadEvent(ctx); !errors.As(err, &ce) || !ce.Normal() {
		t.Fatalf("sideband after refer: %v", err)
	}
	apiErr(t, api.Hangup(ctx, sipcall.EngineRealtime, in.ID), 404, sipcall.CodeCallNotFound)
	apiErr(t, api.Accept(ctx, sipcall.EngineRealtime, in.ID, accepted("again")), 404, sipcall.CodeCallNotFound)
	if _, err := realtime.Dial(ctx, realtime.DialOptions{BaseURL: srv.URL + "/v1", APIKey: testKey, CallID: in.ID}); err == nil {
		t.Fatal("a sideband to an ended call")
	}
}

func TestSIPHangupAndCallerHangup(t *testing.T) {
	m := &Model{}
	srv, api := sipModel(t, m)
	app := newSIPApp(t)
	ctx := ctxT(t)
	for _, byApp := range []bool{true, false} {
		call, err := m.RingSIP(ctx, SIPRing{WebhookURL: app.srv.URL, Secret: testSecret})
		if err != nil {
			t.Fatal(err)
		}
		in := <-app.incoming
		if err := api.Accept(ctx, sipcall.EngineRealtime, in.ID, map[string]any{"type": "realtime"}); err != nil {
			t.Fatal(err)
		}
		conn, err := realtime.Dial(ctx, realtime.DialOptions{BaseURL: srv.URL + "/v1", APIKey: testKey, CallID: in.ID})
		if err != nil {
			t.Fatal(err)
		}
		created := next(t, conn, realtime.TypeSessionCreated).(*realtime.SessionCreated)
		if created.Session.Model != realtime.DefaultModel {
			t.Fatalf("model %q", created.Session.Model)
		}
		if byApp {
			if err := api.Hangup(ctx, sipcall.EngineRealtime, in.ID); err != nil {
				t.Fatal(err)
			}
		} else {
			call.CallerHangup()
		}
		<-call.Done()
		if call.HungUp() != byApp || call.State() != SIPEnded {
			t.Fatalf("byApp %v: hung up %v, %s", byApp, call.HungUp(), call.State())
		}
		if _, err := conn.ReadEvent(ctx); err == nil {
			t.Fatal("sideband open after the call ended")
		}
		conn.CloseNow()
	}
}

// TestFaultSIPForgedWebhookIsNeverAccepted: the twin's RingSIP forges webhooks as
// an attacker would (another key, no signature, a replayed timestamp); a control
// plane that verifies refuses each, OpenAI retries a bounded number of times, and
// the call, never accepted, rings out: its accept is then 404 call_id_not_found.
func TestFaultSIPForgedWebhookIsNeverAccepted(t *testing.T) {
	m := &Model{SIP: SIPConfig{RingTimeout: 300 * time.Millisecond}}
	_, api := sipModel(t, m)
	app := newSIPApp(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name string
		ring SIPRing
		want error
	}{
		{"bad signature", SIPRing{BadSignature: true}, sipcall.ErrBadSignature},
		{"unsigned", SIPRing{Unsigned: true}, sipcall.ErrUnsigned},
		{"replayed", SIPRing{Stale: true}, sipcall.ErrStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.ring
			o.WebhookURL, o.Secret, o.RetryDelay = app.srv.URL, testSecret, 10*time.Millisecond
			call, err := m.RingSIP(ctx, o)
			if err == nil || call == nil {
				t.Fatalf("RingSIP = %v, %v: a refused webhook was reported delivered", call, err)
			}
			for range 3 {
				if got := <-app.refused; !errors.Is(got, tc.want) {
					t.Fatalf("refused with %v, want %v", got, tc.want)
				}
			}
			if d := call.Deliveries(); len(d) != 3 || d[0].Status != 401 {
				t.Fatalf("deliveries %+v", d)
			}
			select {
			case in := <-app.incoming:
				t.Fatalf("forged call reached the app: %+v", in)
			default:
			}
			<-call.Done()
			if call.State() != SIPMissed {
				t.Fatalf("state %s", call.State())
			}
			if _, err := call.Accepted(ctx); err == nil {
				t.Fatal("Accepted succeeded")
			}
			apiErr(t, api.Accept(ctx, sipcall.EngineRealtime, call.ID(), map[string]any{"type": "realtime"}), 404, sipcall.CodeCallNotFound)
		})
	}
}

func TestSIPCallControlIsStrict(t *testing.T) {
	m := &Model{SIP: SIPConfig{RingTimeout: time.Minute}}
	srv, api := sipModel(t, m)
	app := newSIPApp(t)
	ctx := ctxT(t)
	ring := func() *SIPCall {
		call, err := m.RingSIP(ctx, SIPRing{WebhookURL: app.srv.URL, Secret: testSecret})
		if err != nil {
			t.Fatal(err)
		}
		<-app.incoming
		return call
	}
	call := ring()
	id := call.ID()

	apiErr(t, api.Accept(ctx, sipcall.EngineRealtime, "rtc_nobody", map[string]any{"type": "realtime"}), 404, sipcall.CodeCallNotFound)
	bad := sipcall.NewClient(srv.URL+"/v1", "sk-wrong", srv.Client())
	apiErr(t, bad.Accept(ctx, sipcall.EngineRealtime, id, map[string]any{"type": "realtime"}), 401, "invalid_api_key")
	// Validated like session.update: an unknown field refuses the accept.
	err := api.Accept(ctx, sipcall.EngineRealtime, id, map[string]any{"type": "realtime", "voice": "alloy"})
	apiErr(t, err, 400, "unknown_parameter")
	if e := err.(*sipcall.APIError); e.Param != "session.voice" || e.Type != "invalid_request_error" {
		t.Fatalf("%+v", e)
	}
	apiErr(t, api.Accept(ctx, sipcall.EngineRealtime, id, map[string]any{"instructions": "x"}), 400, "missing_required_parameter")
	apiErr(t, api.Accept(ctx, sipcall.EngineRealtime, id, map[string]any{"type": "realtime", "reasoning": map[string]any{"effort": "low"}}), 400, "unsupported_parameter")
	// Not yet accepted: no sideband, no refer.
	var de *realtime.DialError
	if _, err := realtime.Dial(ctx, realtime.DialOptions{BaseURL: srv.URL + "/v1", APIKey: testKey, CallID: id}); !errors.As(err, &de) || de.StatusCode != 404 {
		t.Fatalf("sideband of a ringing call: %v", err)
	}
	apiErr(t, api.Refer(ctx, sipcall.EngineRealtime, id, "tel:+1555"), 400, "call_not_active")
	if !call.Ringing() {
		t.Fatal("a refused accept changed the call")
	}
	if err := api.Accept(ctx, sipcall.EngineRealtime, id, map[string]any{"type": "realtime"}); err != nil {
		t.Fatal(err)
	}
	apiErr(t, api.Accept(ctx, sipcall.EngineRealtime, id, map[string]any{"type": "realtime"}), 400, "call_not_ringing")
	apiErr(t, api.Reject(ctx, sipcall.EngineRealtime, id, 486), 400, "call_not_ringing")

	// Reject: the status reaches the caller; the call is gone.
	call2 := ring()
	if err := api.Reject(ctx, sipcall.EngineRealtime, call2.ID(), 486); err != nil {
		t.Fatal(err)
	}
	if s, ok := call2.Rejected(); !ok || s != 486 {
		t.Fatalf("rejected %d %v", s, ok)
	}
	apiErr(t, api.Accept(ctx, sipcall.EngineRealtime, call2.ID(), map[string]any{"type": "realtime"}), 404, sipcall.CodeCallNotFound)

	// Raw bodies the client would not send.
	post := func(path, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var shape struct {
			Error struct{ Code string } `json:"error"`
		}
		json.Unmarshal(b, &shape)
		return resp.StatusCode, shape.Error.Code
	}
	call3 := ring()
	for _, tc := range []struct{ path, body, code string }{
		{"/v1/realtime/calls/" + call3.ID() + "/reject", `{"status_code":200}`, "invalid_value"},
		{"/v1/realtime/calls/" + call3.ID() + "/reject", `{"status":486}`, "unknown_parameter"},
		{"/v1/realtime/calls/" + id + "/refer", `{}`, "missing_required_parameter"},
		{"/v1/realtime/calls/" + id + "/refer", `{"target_uri":"https://x"}`, "invalid_value"},
		{"/v1/realtime/calls/" + id + "/transfer", `{}`, "not_found"},
	} {
		if status, code := post(tc.path, tc.body); status/100 != 4 || code != tc.code {
			t.Errorf("%s %s: %d %s, want %s", tc.path, tc.body, status, code, tc.code)
		}
	}
	// An empty reject body is Realtime's default, 603 Decline.
	if status, _ := post("/v1/realtime/calls/"+call3.ID()+"/reject", ``); status != 200 {
		t.Fatalf("reject without body: %d", status)
	}
	if s, _ := call3.Rejected(); s != sipcall.DeclineStatus {
		t.Fatalf("default reject status %d", s)
	}
}
