package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRejections: tsc's errors become one entry per distinct rejection, object
// types shortened, the innermost reason kept, the deep partial's copy dropped.
func TestRejections(t *testing.T) {
	recs := []record{{Dir: "server", typ: "session.created"}, {Dir: "client", typ: "conversation.item.create"},
		{Dir: "client", typ: "session.start", api: "live"}}
	_, lines := generate(recs)
	out := `generated/events.ts(9,111): error TS2353: Object literal may only specify known properties, and '"id"' does not exist in type 'RealtimeSessionCreateRequest'.
generated/events.ts(10,111): error TS2353: Object literal may only specify known properties, and '"id"' does not exist in type '{ type?: "realtime" | undefined; }'.
generated/events.ts(12,95): error TS2322: Type '{ approve: true; type: "mcp_approval_response"; }' is not assignable to type 'ConversationItem'.
  Property 'id' is missing in type '{ approve: true; type: "mcp_approval_response"; }' but required in type 'RealtimeMcpApprovalResponse'.
generated/events.ts(15,60): error TS2353: Object literal may only specify known properties, and '"voice"' does not exist in type 'SessionConfig'.
`
	got, err := rejections([]byte(out), lines)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`client conversation.item.create: Property 'id' is missing in type '{…}' but required in type 'RealtimeMcpApprovalResponse'.`,
		`live client session.start: Object literal may only specify known properties, and '"voice"' does not exist in type 'SessionConfig'.`,
		`server session.created: Object literal may only specify known properties, and '"id"' does not exist in type 'RealtimeSessionCreateRequest'.`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if _, err := rejections([]byte("tsconfig.json(1,1): error TS5023: Unknown compiler option\n"), lines); err == nil {
		t.Error("an error outside the events was not reported")
	}
}

func TestAllowlistNeedsReasons(t *testing.T) {
	name := filepath.Join(t.TempDir(), "known.txt")
	os.WriteFile(name, []byte("# comment\nserver x: TS1 y # the twin is wrong\n"), 0o644)
	if got, err := readAllowlist(name); err != nil || !slices.Equal(got, []string{"server x: TS1 y"}) {
		t.Errorf("got %q, %v", got, err)
	}
	os.WriteFile(name, []byte("server x: TS1 y\n"), 0o644)
	if _, err := readAllowlist(name); err == nil {
		t.Error("an entry without a reason was accepted")
	}
}

// TestFaultNoLiveRecordsFails: a run whose tests recorded no Live event fails
// instead of checking nothing.
func TestFaultNoLiveRecordsFails(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "events-1.jsonl"),
		[]byte(`{"dir":"client","shape":"client session.update","event":{"type":"session.update","session":{"type":"realtime"}}}`+"\n"), 0o644)
	err := run([]string{"-records", dir, "-project", t.TempDir()}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no live events recorded") {
		t.Fatalf("got %v", err)
	}
}

// TestFaultNoSIPRecordsFails: a run whose tests recorded no SIP body (no webhook
// sent by a twin, no call accepted) fails instead of checking nothing; and a kind
// of body the program does not know is typed never, so tsc rejects it.
func TestFaultNoSIPRecordsFails(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "events-1.jsonl"),
		[]byte(`{"dir":"client","shape":"client session.update","event":{"type":"session.update","session":{"type":"realtime"}}}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "live-events-1.jsonl"),
		[]byte(`{"dir":"client","shape":"client session.start","event":{"type":"session.start"}}`+"\n"), 0o644)
	err := run([]string{"-records", dir, "-project", t.TempDir()}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no sip events recorded") {
		t.Fatalf("got %v", err)
	}
	ts, _ := generate([]record{{Dir: "realtime.calls.accept", api: "sip"}, {Dir: "realtime.calls.smile", api: "sip"},
		{Dir: "webhook", typ: "realtime.call.incoming", api: "sip"}})
	for _, want := range []string{"sip_realtime_calls_accept000: CallAcceptParams", "sip_realtime_calls_smile001: never",
		`sip_webhook002: Extract<UnwrapWebhookEvent, { type: "realtime.call.incoming" }>`} {
		if !strings.Contains(string(ts), want) {
			t.Errorf("generated no %q in\n%s", want, ts)
		}
	}
}
