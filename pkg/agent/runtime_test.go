package agent_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/session/sessiontest"
	"github.com/callagent/callagent/pkg/twiliorest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// runAgent starts a call whose session is set up by a Runtime built from yaml.
func runAgent(t *testing.T, yaml string, env map[string]string, ropts agent.RuntimeOptions, model *realtimetest.Model) *sessiontest.Call {
	t.Helper()
	cfg, err := agent.Parse("callagent.yaml", []byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	rt, err := agent.NewRuntime(cfg, ropts)
	if err != nil {
		t.Fatal(err)
	}
	if model == nil {
		model = &realtimetest.Model{}
	}
	b := sessiontest.New(t, sessiontest.Config{Model: model, Options: func(o *session.Options) {
		rt.Setup(o)
		o.CallerIdleTimeout = -1
	}})
	return b.Start(twiliotest.CallerOptions{})
}

// answering is a fake model that answers every response.create with a short reply.
func answering() *realtimetest.Model {
	return &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: sessiontest.Noise(9, 800), Transcript: "Okay."}}}
	}}
}

// callTool makes the fake model call a tool and returns what the model was given.
func callTool(t *testing.T, tc *sessiontest.Call, name, args string) (callevent.ToolResult, realtime.Item) {
	t.Helper()
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{Name: name, Arguments: args}}}})
	res := sessiontest.WaitEvent[callevent.ToolResult](tc.Ctx, t, tc.Rec, 1)
	return res, tc.FunctionOutput()
}

const httpToolYAML = `
agents:
  - name: ada
    instructions: Help with orders.
tools:
  - name: order_status
    description: Look up an order.
    parameters: {type: object, properties: {order: {type: string}}}
    http:
      url: %URL%/status
      headers:
        Authorization: Bearer ${ORDERS_KEY}
    timeout: 300ms
`

func TestHTTPTool(t *testing.T) {
	const secret = "orders-key-abc123"
	var mu sync.Mutex
	var gotBody, gotAuth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotBody, gotAuth = string(b), r.Header.Get("Authorization")
		mu.Unlock()
		switch {
		case strings.Contains(string(b), "A-1"):
			w.Write([]byte(`{"order":"A-1","status":"shipped"}`))
		case strings.Contains(string(b), "boom"):
			w.WriteHeader(500)
			w.Write([]byte(`internal error; your header was Bearer ` + secret))
		case strings.Contains(string(b), "slow"):
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		case strings.Contains(string(b), "big"):
			w.Write([]byte(strings.Repeat("x", 20000) + secret))
		case strings.Contains(string(b), "straddle"):
			// The secret across max_response_bytes, raw and JSON-escaped.
			w.Write([]byte(strings.Repeat("x", 16384-6) + secret + strings.Repeat("y", 100)))
		}
	}))
	defer api.Close()
	yaml := strings.ReplaceAll(httpToolYAML, "%URL%", api.URL)
	env := map[string]string{"ORDERS_KEY": secret}

	tests := []struct {
		args string
		ok   bool
		want string
	}{
		{`{"order":"A-1"}`, true, `{"order":"A-1","status":"shipped"}`},
		{`{"order":"boom"}`, false, "Error: the service answered HTTP 500: internal error; your header was Bearer [redacted]"},
		{`{"order":"slow"}`, false, "Error: order_status timed out after 300ms"},
		{`{"order":"big"}`, true, "[response truncated at 16384 bytes]"},
		{`{"order":"straddle"}`, true, "[response truncated at 16384 bytes]"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			tc := runAgent(t, yaml, env, agent.RuntimeOptions{}, answering())
			res, out := callTool(t, tc, "order_status", tt.args)
			if (res.Err == nil) != tt.ok || !strings.Contains(out.Output, tt.want) {
				t.Fatalf("model got %q (err %v), want %q", out.Output, res.Err, tt.want)
			}
			if strings.Contains(out.Output, secret[:6]) {
				t.Errorf("the model got a piece of the secret: %q", out.Output[max(0, len(out.Output)-80):])
			}
			mu.Lock()
			if gotAuth != "Bearer "+secret || gotBody != tt.args {
				t.Errorf("the API got body %q, auth %q", gotBody, gotAuth)
			}
			mu.Unlock()
			// The call goes on: the model answers the result.
			if _, err := tc.Model.WaitEvent(tc.Ctx, realtime.TypeResponseCreate, 1); err != nil {
				t.Fatal(err)
			}
			tc.Hangup()
			for _, ev := range tc.Rec.All() {
				if b, _ := json.Marshal(ev); strings.Contains(string(b), secret) {
					t.Fatalf("the secret reached an event: %s", b)
				}
			}
		})
	}
}

const approvalYAML = `
approval:
  policy: %POLICY%
  %WEBHOOK%
agents:
  - name: ada
    instructions: Refunds.
tools:
  - name: refund
    description: Refund an order.
    http: {url: "%URL%"}
    needs_approval: true
`

func TestApprovalPolicies(t *testing.T) {
	var count int
	var mu sync.Mutex
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		count++
		mu.Unlock()
		w.Write([]byte("refunded"))
	}))
	defer api.Close()
	var asked []string
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]string
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		asked = append(asked, req["tool"]+" "+req["arguments"])
		mu.Unlock()
		w.Write([]byte(`{"approved": false, "reason": "over the limit"}`))
	}))
	defer webhook.Close()

	tests := []struct {
		name     string
		policy   string
		webhook  string
		approver session.Approver
		runs     bool
		reason   string
	}{
		{name: "auto", policy: "auto", runs: true},
		{name: "deny", policy: "deny", reason: "the approval policy is deny"},
		{name: "ask, approved at the terminal", policy: "ask", runs: true,
			approver: session.ApproverFunc(func(context.Context, session.ApprovalRequest) (bool, error) { return true, nil })},
		{name: "ask, denied at the terminal", policy: "ask", reason: "denied",
			approver: session.ApproverFunc(func(context.Context, session.ApprovalRequest) (bool, error) { return false, nil })},
		{name: "ask, webhook denies", policy: "ask", webhook: "webhook: " + webhook.URL, reason: "denied: over the limit"},
		{name: "ask, nobody to ask", policy: "ask", reason: "no approver is configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			count = 0
			mu.Unlock()
			yaml := strings.NewReplacer("%POLICY%", tt.policy, "%WEBHOOK%", tt.webhook, "%URL%", api.URL).Replace(approvalYAML)
			tc := runAgent(t, yaml, nil, agent.RuntimeOptions{Approver: tt.approver}, answering())
			res, out := callTool(t, tc, "refund", `{"order":"A-1"}`)
			mu.Lock()
			ran := count == 1
			mu.Unlock()
			if ran != tt.runs {
				t.Fatalf("refund ran: %v, want %v (output %q)", ran, tt.runs, out.Output)
			}
			d := sessiontest.WaitEvent[callevent.ToolApprovalDecided](tc.Ctx, t, tc.Rec, 1)
			if d.Approved != tt.runs || d.Reason != tt.reason {
				t.Fatalf("decision %+v, want reason %q", d, tt.reason)
			}
			if !tt.runs && (res.Err == nil || !strings.Contains(out.Output, "not approved")) {
				t.Fatalf("the model was told %q", out.Output)
			}
			tc.Hangup()
		})
	}
	if len(asked) != 1 || asked[0] != `refund {"order":"A-1"}` {
		t.Fatalf("webhook asked %q", asked)
	}
}

func TestBackgroundToolFromConfig(t *testing.T) {
	note := agent.Func("log_note", "", "", func(ctx context.Context, a struct{ Note string }) (string, error) {
		return "noted: " + a.Note, nil
	})
	yaml := `
agents: [{name: ada, instructions: Take notes.}]
tools:
  - name: log_note
    description: Write a note to the CRM.
    parameters: {type: object, properties: {note: {type: string}}}
    background: true
`
	tc := runAgent(t, yaml, nil, agent.RuntimeOptions{Tools: []session.Tool{note}}, nil)
	res, out := callTool(t, tc, "log_note", `{"note":"call back Tuesday"}`)
	if !res.Background || out.Output != "noted: call back Tuesday" {
		t.Fatalf("result %+v, output %q", res, out.Output)
	}
	tc.Hangup()
	if n := len(tc.Model.Received(realtime.TypeResponseCreate)); n != 0 {
		t.Fatalf("a background result triggered %d response.create", n)
	}
	if up := tc.Model.SessionUpdates()[0]; len(up.Tools) != 1 || up.Tools[0].Description != "Write a note to the CRM." {
		t.Fatalf("tool as offered: %+v", up.Tools)
	}
}

func TestMCPApprovalThroughPolicy(t *testing.T) {
	yaml := `
approval: {policy: ask}
agents: [{name: ada, instructions: Use the docs.}]
tools:
  - name: docs
    mcp:
      server_label: docs
      server_url: https://mcp.example.com/mcp
      authorization: ${MCP_TOKEN}
      require_approval: always
`
	var seen session.ApprovalRequest
	approver := session.ApproverFunc(func(ctx context.Context, r session.ApprovalRequest) (bool, error) { seen = r; return true, nil })
	tc := runAgent(t, yaml, map[string]string{"MCP_TOKEN": "tok-123"}, agent.RuntimeOptions{Approver: approver}, answering())
	mcp := tc.Model.SessionUpdates()[0].Tools
	if len(mcp) != 1 || mcp[0].Type != "mcp" || mcp[0].Authorization != "tok-123" || string(mcp[0].RequireApproval) != `"always"` {
		t.Fatalf("MCP tool as configured: %+v", mcp)
	}
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{MCPApproval: &realtimetest.MCPApproval{ServerLabel: "docs", Name: "search", Arguments: `{"q":"x"}`}}}})
	if err := tc.Model.WaitFor(tc.Ctx, "the approval response", func() bool { return len(tc.Model.CreatedItems()) == 1 }); err != nil {
		t.Fatal(err)
	}
	it := tc.Model.CreatedItems()[0]
	if it.Type != realtime.ItemMCPApprovalResponse || it.Approve == nil || !*it.Approve || seen.Name != "docs.search" {
		t.Fatalf("approval %+v, asked %+v", it, seen)
	}
	tc.Hangup()
}

func TestGuardrailFromConfig(t *testing.T) {
	yaml := `
agents:
  - name: ada
    instructions: Sell things.
    guardrails:
      deny_phrases: ["guaranteed   returns"]
`
	tc := runAgent(t, yaml, nil, agent.RuntimeOptions{}, nil)
	transcript := strings.Repeat("This fund is great. ", 4) + "It has Guaranteed returns of ten percent " + strings.Repeat("and more ", 20)
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: sessiontest.Noise(2, 24000), Transcript: transcript}},
		ChunkBytes: 800, Pace: 20 * time.Millisecond})
	g := sessiontest.WaitEvent[callevent.GuardrailTripped](tc.Ctx, t, tc.Rec, 1)
	if g.Rule != "guaranteed   returns" || g.HeardMs >= 3000 {
		t.Fatalf("tripped %+v", g)
	}
	if err := tc.Caller.WaitClears(tc.Ctx, 1); err != nil {
		t.Fatal("the agent's audio was not cut off:", err)
	}
	tc.Hangup()
}

const handoffYAML = `
agents:
  - name: front-desk
    instructions: You answer calls.
    voice: marin
    tools: [weather]
    handoffs: [billing]
  - name: billing
    description: refunds and invoices
    instructions: You handle billing.
    voice: cedar
    tools: []
    handoffs: [front-desk]
tools:
  - builtin: weather
`

func TestHandoffKeepsTheCallAndPCMU(t *testing.T) {
	tc := runAgent(t, handoffYAML, nil, agent.RuntimeOptions{}, answering())
	first := tc.Model.SessionUpdates()[0]
	names := toolNames(first.Tools)
	if first.Instructions != "You answer calls." || names != "weather,transfer_to_billing" {
		t.Fatalf("front desk: %q with tools %s", first.Instructions, names)
	}
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: sessiontest.Noise(1, 800), Transcript: "Let me get billing."}}}).Wait(tc.Ctx)
	_, out := callTool(t, tc, "transfer_to_billing", `{}`)
	if !strings.Contains(out.Output, "billing agent") {
		t.Fatalf("handoff output %q", out.Output)
	}
	if err := tc.Model.WaitFor(tc.Ctx, "the billing session.update", func() bool { return len(tc.Model.SessionUpdates()) == 2 }); err != nil {
		t.Fatal(err)
	}
	second := tc.Model.SessionUpdates()[1]
	sessiontest.CheckPCMU(t, second)
	if second.Instructions != "You handle billing." || toolNames(second.Tools) != "transfer_to_front-desk" || second.Audio.Output.Voice.String != "marin" {
		t.Fatalf("billing: %q, tools %s, voice %q (must stay marin: the agent had spoken)", second.Instructions, toolNames(second.Tools), second.Audio.Output.Voice.String)
	}
	if ev := sessiontest.WaitEvent[callevent.AgentChanged](tc.Ctx, t, tc.Rec, 1); ev.From != "front-desk" || ev.To != "billing" {
		t.Fatalf("%+v", ev)
	}
	// The new agent answers in the same call.
	if _, err := tc.Model.WaitEvent(tc.Ctx, realtime.TypeResponseCreate, 1); err != nil {
		t.Fatal(err)
	}
	tc.Hangup()
	sessiontest.NoModelErrors(t, tc.Model)
}

func toolNames(tools []realtime.Tool) string {
	var n []string
	for _, t := range tools {
		n = append(n, t.Name)
	}
	return strings.Join(n, ",")
}

const callControlYAML = `
agents: [{name: ada, instructions: Help.}]
tools:
  - builtin: hang_up
  - builtin: transfer
    transfer:
      targets: {sales: "+14155550100", support: "+14155550101"}
      announcement: Connecting you now.
`

// The REST client is what cmd gives the runtime for hang-ups and transfers.
var _ agent.CallController = (*twiliorest.Client)(nil)

func fakeTwilio(t *testing.T) (*twiliorestest.API, *twiliorest.Client) {
	api := &twiliorestest.API{AccountSID: "AC00000000000000000000000000000001", AuthToken: "0123456789abcdef0123456789abcdef"}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	cc, err := twiliorest.New(twiliorest.Options{Credentials: twiliorest.Credentials{AccountSID: api.AccountSID, AuthToken: api.AuthToken}, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return api, cc
}

// hang_up waits for the goodbye's last mark, then completes the call through REST.
func TestHangUpAfterGoodbyePlayed(t *testing.T) {
	api, cc := fakeTwilio(t)
	tc := runAgent(t, callControlYAML, nil, agent.RuntimeOptions{Calls: cc}, nil)
	api.SetCall(tc.Caller.CallSID(), "in-progress")
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{
		{FunctionCall: &realtimetest.FunctionCall{Name: "hang_up", Arguments: `{}`}},
		{Audio: sessiontest.Noise(3, 8000), Transcript: "Goodbye, have a nice day!"},
	}})
	ended := tc.Ended()
	if ended.Reason != callevent.EndAgentHangup || ended.Err != nil {
		t.Fatalf("ended %s (%v)", ended.Reason, ended.Err)
	}
	reqs := api.Requests()
	if len(reqs) != 1 || reqs[0].Form.Get("Status") != "completed" || !strings.HasSuffix(reqs[0].Path, "/Calls/"+tc.Caller.CallSID()+".json") {
		t.Fatalf("REST requests %+v", reqs)
	}
	if played := tc.Caller.PlayedAt(reqs[0].At); played < 8000 {
		t.Fatalf("the call was hung up with %d of the goodbye's 8000 bytes played", played)
	}
}

func TestTransferToTarget(t *testing.T) {
	api, cc := fakeTwilio(t)
	tc := runAgent(t, callControlYAML, nil, agent.RuntimeOptions{Calls: cc}, nil)
	api.SetCall(tc.Caller.CallSID(), "in-progress")
	tools := tc.Model.SessionUpdates()[0].Tools
	if toolNames(tools) != "hang_up,transfer" || !strings.Contains(string(tools[1].Parameters), `"enum":["sales","support"]`) {
		t.Fatalf("transfer tool as offered: %+v", tools)
	}
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{
		{Audio: sessiontest.Noise(4, 1600), Transcript: "Let me transfer you to sales."},
		{FunctionCall: &realtimetest.FunctionCall{Name: "transfer", Arguments: `{"target":"sales"}`}},
	}})
	if ended := tc.Ended(); ended.Reason != callevent.EndTransferred {
		t.Fatalf("ended %s (%v)", ended.Reason, ended.Err)
	}
	reqs := api.Requests()
	if len(reqs) != 1 {
		t.Fatalf("REST requests %+v", reqs)
	}
	twiml := reqs[0].Form.Get("Twiml")
	if !strings.Contains(twiml, "<Say>Connecting you now.</Say>") || !strings.Contains(twiml, "<Dial>+14155550100</Dial>") {
		t.Fatalf("TwiML %q", twiml)
	}
	if tc.Caller.PlayedAt(time.Now()) < 1600 {
		t.Fatal("transferred before the agent's words were heard")
	}
}

// Without REST credentials a transfer is refused and the model is told; the call goes on.
func TestTransferUnavailable(t *testing.T) {
	tc := runAgent(t, callControlYAML, nil, agent.RuntimeOptions{}, answering())
	res, out := callTool(t, tc, "transfer", `{"target":"support"}`)
	if res.Err == nil || !strings.Contains(out.Output, "TWILIO_ACCOUNT_SID") {
		t.Fatalf("output %q", out.Output)
	}
	if _, err := tc.Model.WaitEvent(tc.Ctx, realtime.TypeResponseCreate, 1); err != nil {
		t.Fatal(err)
	}
	tc.Hangup()
}

func TestGreetingFromConfig(t *testing.T) {
	yaml := `
agents:
  - name: ada
    instructions: You are Ada.
    greeting: Hello, Acme here!
`
	tc := runAgent(t, yaml, nil, agent.RuntimeOptions{}, nil)
	ev, err := tc.Model.WaitEvent(tc.Ctx, realtime.TypeResponseCreate, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.(*realtime.ResponseCreate).Response.Instructions; !strings.Contains(got, "Say exactly this, then listen: Hello, Acme here!") {
		t.Fatalf("greeting instructions %q", got)
	}
	tc.Hangup()
}
