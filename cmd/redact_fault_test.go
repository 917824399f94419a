package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

// toolSecret is a tool header's value with every character JSON, URLs and HTML
// escape.
const toolSecret = `Tk"9\q&<z>/é'+ 42`

// echoes are the forms an API may echo a header in: raw, JSON-escaped (as
// encoding/json writes it), URL-encoded, HTML-escaped, and base64 in a Basic
// authorization.
func echoes(secret string) string {
	js, _ := json.Marshal(map[string]string{"you_sent": secret})
	return "raw=" + secret + "\njson=" + string(js) + "\nquery=" + url.QueryEscape(secret) + " path=" + url.PathEscape(secret) +
		"\nhtml=<p>" + html.EscapeString(secret) + "</p>\nbasic=Basic " + base64.StdEncoding.EncodeToString([]byte("api:"+secret)) + "\n"
}

// secretForms are the secret as each of echoes writes it, and as those are
// written once more inside a JSON string (a call log line, a --json line).
func secretForms(secret string) []string {
	js, _ := json.Marshal(secret)
	forms := []string{secret, string(js[1 : len(js)-1]), url.QueryEscape(secret), url.PathEscape(secret), html.EscapeString(secret)}
	for _, f := range forms[:len(forms):len(forms)] {
		j, _ := json.Marshal(f)
		forms = append(forms, string(j[1:len(j)-1]))
	}
	return forms
}

// leaksBase64 reports whether a base64 window of text decodes to the secret
// without its edge bytes.
func leaksBase64(text, secret string) bool {
	inner := secret[1 : len(secret)-1]
	for i := range text {
		for j := i + 4; j <= len(text); j += 4 {
			b, err := base64.RawStdEncoding.DecodeString(text[i:j])
			if err != nil {
				break
			}
			if strings.Contains(string(b), inner) {
				return true
			}
		}
	}
	return false
}

func checkNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, f := range secretForms(toolSecret) {
		if strings.Contains(text, f) {
			t.Errorf("%s holds the tool secret as %q:\n%s", where, f, text)
		}
	}
	if leaksBase64(text, toolSecret) {
		t.Errorf("%s holds the tool secret in base64:\n%s", where, text)
	}
}

// A tool header's secret that an API echoes back, in any encoding, reaches
// neither the model (function_call_output), nor stdout (rendered or --json),
// nor the call log: a good answer and an error answer (HTTP 500) alike.
func TestFaultToolSecretEchoed(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		name := "rendered"
		if asJSON {
			name = "json"
		}
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/fail" {
					w.WriteHeader(http.StatusInternalServerError)
				}
				w.Write([]byte(echoes(r.Header.Get("X-Api-Key"))))
			}))
			defer api.Close()

			h := newDevHarness(t)
			h.env["TOOL_SECRET"] = toolSecret
			outputs := make(chan string, 2)
			h.model.Script = func(ctx context.Context, c *realtimetest.ModelConn) error {
				ev, err := c.WaitEvent(ctx, realtime.TypeSessionUpdate, 1)
				if err != nil {
					return nil
				}
				h.updates <- ev.(*realtime.SessionUpdate).Session
				for i, tool := range []string{"lookup", "broken"} {
					c.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{Name: tool, Arguments: `{"q":"A-1"}`}}}})
					ev, err := c.WaitEvent(ctx, realtime.TypeConversationItemCreate, i+1)
					if err != nil {
						return nil
					}
					outputs <- ev.(*realtime.ConversationItemCreate).Item.Output
				}
				<-ctx.Done()
				return nil
			}
			path := filepath.Join(t.TempDir(), "callagent.yaml")
			cfg := "agents:\n  - name: main\n    instructions: Help.\ntools:\n" +
				"  - name: lookup\n    description: Look up an order.\n    http:\n      url: " + api.URL + "/lookup\n      method: POST\n      headers:\n        X-Api-Key: ${TOOL_SECRET}\n" +
				"  - name: broken\n    description: Fails.\n    http:\n      url: " + api.URL + "/fail\n      method: POST\n      headers:\n        X-Api-Key: ${TOOL_SECRET}\n"
			if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"--config", path}
			ended := "● call ended"
			if asJSON {
				args, ended = append(args, "--json"), `"type":"call.ended"`
			}
			h.start(args...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			caller := h.place(ctx, "CA00000000000000000000000000000007")
			defer caller.Close()
			for i := range 2 {
				select {
				case out := <-outputs:
					if !strings.Contains(out, "raw=") {
						t.Errorf("tool result %d is not the API's answer: %q", i, out)
					}
					checkNoSecret(t, "the tool result the model received", out)
				case <-ctx.Done():
					t.Fatalf("the model received %d tool results, want 2\n%s", i, h.out.String())
				}
			}
			caller.Hangup()
			h.waitOut(ended)
			h.stop()
			checkNoSecret(t, "stdout", h.out.String())
			checkNoSecret(t, "stderr", h.errOut.String())
			var logs strings.Builder
			filepath.WalkDir(filepath.Join(h.env["CALLAGENT_STATE_DIR"], "calls"), func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					b, _ := os.ReadFile(p)
					logs.Write(b)
				}
				return nil
			})
			if !strings.Contains(logs.String(), `"type":"tool.result"`) {
				t.Fatalf("the call log has no tool result:\n%s", logs.String())
			}
			checkNoSecret(t, "the call log", logs.String())
		})
	}
}
