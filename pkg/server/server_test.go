package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

const (
	testToken  = "test-auth-token-0123456789abcdef"
	testPublic = "https://calls.example.com"
	testAPIKey = "sk-test-server-0123456789"
)

// sign computes X-Twilio-Signature the way Twilio documents it, independently of
// the validator the server uses: base64(HMAC-SHA1(token, URL + sorted name+value)).
func sign(token, u string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(u)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(params.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// testServer runs a Server on loopback in front of a fake model.
type testServer struct {
	t      *testing.T
	srv    *Server
	url    string // http://127.0.0.1:port
	model  *realtimetest.Model
	conns  chan *realtimetest.ModelConn
	cancel context.CancelFunc
	served chan error
	events *eventLog
	client *http.Client // for webhooks; its idle connections are closed at cleanup

	mu     sync.Mutex
	tokens map[string]string // by CallSid: the stream credential the last webhook answer gave
}

type eventLog struct {
	mu  sync.Mutex
	evs []callevent.Event
}

func (l *eventLog) add(ev callevent.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
}

func (l *eventLog) ended(callSID string) (callevent.CallEnded, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.evs {
		if e, ok := ev.(callevent.CallEnded); ok && e.CallSID == callSID {
			return e, true
		}
	}
	return callevent.CallEnded{}, false
}

// drainTimeout is what newTestServer passes to Serve; tests of the drain change it.
var drainTimeout = 5 * time.Second

func newTestServer(t *testing.T, mutate func(*Config)) *testServer {
	t.Helper()
	return newTestServerOn(t, mutate, nil)
}

// newTestServerOn is newTestServer with its listener passed through wrap (nil: as is).
func newTestServerOn(t *testing.T, mutate func(*Config), wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	leakcheck.Check(t)
	ts := &testServer{t: t, model: &realtimetest.Model{APIKey: testAPIKey}, conns: make(chan *realtimetest.ModelConn, 512), events: &eventLog{},
		client: &http.Client{Transport: &http.Transport{}}, tokens: map[string]string{}}
	ts.model.Script = func(ctx context.Context, c *realtimetest.ModelConn) error {
		ts.conns <- c
		<-c.Done()
		return nil
	}
	modelSrv := httptest.NewServer(ts.model)
	cfg := Config{
		PublicURL: testPublic,
		AuthToken: testToken,
		Dial: func(ctx context.Context, callSID string) (session.ModelLeg, error) {
			return realtime.Dial(ctx, realtime.DialOptions{BaseURL: modelSrv.URL + "/v1", APIKey: testAPIKey,
				Header: http.Header{"X-Call-Sid": {callSID}}})
		},
		Session: func(call CallInfo, o *session.Options) error {
			o.CallerIdleTimeout = -1
			o.Agent.Instructions = "Test agent for " + call.From
			return nil
		},
		OnEvent:       ts.events.add,
		PublicMetrics: true, // as serve without --metrics-addr: metricsText reads them there
	}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.url = "http://" + ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	ts.served = make(chan error, 1)
	drain := drainTimeout
	go func() { ts.served <- srv.Serve(ctx, ln, drain) }()
	t.Cleanup(func() {
		// Connections the client dialed but never used count as active for 5 s in
		// http.Server.Shutdown: close them so the drain is not held up by the test.
		ts.client.CloseIdleConnections()
		srv.dropPending() // the drain would wait for them: not what these tests are about
		cancel()
		<-ts.served
		ts.model.Close()
		modelSrv.Close()
	})
	return ts
}

// webhook posts Twilio's voice webhook for callSID, signed over the public URL.
func (ts *testServer) webhook(callSID string, mutate func(r *http.Request, form url.Values)) (*http.Response, string) {
	ts.t.Helper()
	form := url.Values{"CallSid": {callSID}, "AccountSid": {"AC1"}, "From": {"+15550001111"}, "To": {"+15552223333"},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}}
	sig := sign(testToken, testPublic+PathIncomingCall, form)
	req, _ := http.NewRequest(http.MethodPost, ts.url+PathIncomingCall, nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(SignatureHeader, sig)
	if mutate != nil {
		mutate(req, form)
	}
	req.Body = io.NopCloser(strings.NewReader(form.Encode()))
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if tok := streamTokenOf(string(body)); tok != "" {
		ts.mu.Lock()
		ts.tokens[callSID] = tok
		ts.mu.Unlock()
	}
	return resp, string(body)
}

// streamTokenOf is the stream credential in a webhook's TwiML answer, or "".
func streamTokenOf(body string) string {
	var d twimlDoc
	if xml.Unmarshal([]byte(body), &d) != nil || d.Connect == nil {
		return ""
	}
	for _, p := range d.Connect.Stream.Params {
		if p.Name == StreamTokenParameter {
			return p.Value
		}
	}
	return ""
}

// token is the stream credential of callSID: the one its webhook was answered
// with, or, for a call no webhook here answered, one as another instance with the
// same auth token would give.
func (ts *testServer) token(callSID string) string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if tok := ts.tokens[callSID]; tok != "" {
		return tok
	}
	return ts.srv.verify.streamToken(callSID, time.Now().Add(ts.srv.cfg.PredialTTL))
}

// caller connects a fake Twilio caller to the media stream, signing the upgrade.
func (ts *testServer) caller(callSID string, header http.Header) (*twiliotest.Caller, error) {
	opts := ts.callerOptions(callSID, -1)
	if header != nil {
		opts.Header = header
	}
	return twiliotest.DialCaller(context.Background(), opts)
}

// callerOptions are a signed fake caller's options; interval paces its frames.
func (ts *testServer) callerOptions(callSID string, interval time.Duration) twiliotest.CallerOptions {
	params := map[string]string{"CallSid": callSID, "From": "+15550001111", "To": "+15552223333"}
	if ts.srv.verify != nil { // as the webhook's TwiML answer gives it
		params[StreamTokenParameter] = ts.token(callSID)
	}
	return twiliotest.CallerOptions{
		URL:           "ws" + strings.TrimPrefix(ts.url, "http") + PathMediaStream,
		Header:        http.Header{SignatureHeader: {sign(testToken, "wss://calls.example.com"+PathMediaStream, nil)}},
		CallSID:       callSID,
		FrameInterval: interval,
		Parameters:    params,
	}
}

func (ts *testServer) modelConn(ctx context.Context) *realtimetest.ModelConn {
	ts.t.Helper()
	select {
	case mc := <-ts.conns:
		return mc
	case <-ctx.Done():
		ts.t.Fatal("no model connection")
		return nil
	}
}

func (ts *testServer) waitEnded(ctx context.Context, callSID string) callevent.CallEnded {
	ts.t.Helper()
	for {
		if e, ok := ts.events.ended(callSID); ok {
			return e
		}
		select {
		case <-ctx.Done():
			ts.t.Fatalf("call %s did not end", callSID)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// twimlDoc is the TwiML the webhook answers.
type twimlDoc struct {
	XMLName xml.Name `xml:"Response"`
	Connect *struct {
		Action string `xml:"action,attr"`
		Stream struct {
			URL    string `xml:"url,attr"`
			Params []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"Parameter"`
		} `xml:"Stream"`
	} `xml:"Connect"`
	Reject *struct {
		Reason string `xml:"reason,attr"`
	} `xml:"Reject"`
	Say    string    `xml:"Say"`
	Hangup *struct{} `xml:"Hangup"`
}

func parseTwiML(t *testing.T, body string) twimlDoc {
	t.Helper()
	var d twimlDoc
	if err := xml.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("TwiML %q: %v", body, err)
	}
	return d
}

// The whole path through real HTTP: signed webhook → TwiML → pre-dialed model →
// signed stream → audio both ways → hang-up → Connect action.
func TestEndToEnd(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := ctxFor(t)
	resp, body := ts.webhook("CA0001", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Fatalf("webhook: %d %s", resp.StatusCode, body)
	}
	d := parseTwiML(t, body)
	if d.Connect == nil || d.Connect.Stream.URL != "wss://calls.example.com/media-stream" || d.Connect.Action != "https://calls.example.com/stream-ended" {
		t.Fatalf("TwiML %s", body)
	}
	got := map[string]string{}
	for _, p := range d.Connect.Stream.Params {
		got[p.Name] = p.Value
	}
	if got["CallSid"] != "CA0001" || got["From"] != "+15550001111" || got["To"] != "+15552223333" {
		t.Fatalf("stream parameters %v", got)
	}

	// Pre-dial: the model session is open before the stream even connects.
	mc := ts.modelConn(ctx)
	if mc.Request.Header.Get("X-Call-Sid") != "CA0001" {
		t.Fatalf("pre-dial for %q", mc.Request.Header.Get("X-Call-Sid"))
	}
	c, err := ts.caller("CA0001", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	audio := bytes.Repeat([]byte{0x12, 0x34, 0x56, 0x78}, 400)
	c.Say(audio)
	if err := mc.WaitAudio(ctx, len(audio)); err != nil || !bytes.Equal(mc.AudioIn(), audio) {
		t.Fatalf("caller audio: %v", err)
	}
	if ups := mc.SessionUpdates(); len(ups) != 1 || ups[0].Instructions != "Test agent for +15550001111" {
		t.Fatalf("session.update %+v", ups)
	}
	agent := bytes.Repeat([]byte{0x9a, 0xbc}, 1200)
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: agent, Transcript: "Hello"}}})
	if err := c.WaitReceived(ctx, len(agent)); err != nil || !bytes.Equal(c.Received(), agent) {
		t.Fatalf("agent audio: %v", err)
	}
	if n := ts.srv.ActiveCalls(); n != 1 {
		t.Fatalf("active calls %d", n)
	}
	c.Hangup()
	if e := ts.waitEnded(ctx, "CA0001"); e.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s", e.Reason)
	}
	if err := mc.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	// Twilio asks the Connect action what next: hang up (no apology after a hang-up).
	d = parseTwiML(t, ts.action(t, "CA0001"))
	if d.Hangup == nil || d.Say != "" {
		t.Fatalf("after a normal end: %+v", d)
	}
	m := ts.metricsText(t)
	for _, want := range []string{`callagent_calls_total{reason="caller_hangup"} 1`, `callagent_predials_total{outcome="claimed"} 1`, "callagent_calls_active 0",
		"go_goroutines ", "process_resident_memory_bytes "} { // and the runtime's own, to size an instance by
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// action posts the Connect action webhook for a call and returns the TwiML.
func (ts *testServer) action(t *testing.T, callSID string) string {
	t.Helper()
	form := url.Values{"CallSid": {callSID}, "CallStatus": {"in-progress"}}
	req, _ := http.NewRequest(http.MethodPost, ts.url+PathStreamEnded, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(SignatureHeader, sign(testToken, testPublic+PathStreamEnded, form))
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("stream-ended: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

func (ts *testServer) metricsText(t *testing.T) string {
	t.Helper()
	resp, err := ts.client.Get(ts.url + PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (ts *testServer) status(t *testing.T, path string) int {
	t.Helper()
	resp, err := ts.client.Get(ts.url + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
