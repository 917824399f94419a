package agent

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of validation errors")

func noEnv(string) string { return "" }

// Every invalid file fails with exactly the messages in its golden file: file:line,
// what is wrong, how to fix it.
func TestValidationMessages(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f, noEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T: %v", err, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("messages differ from %s:\ngot:\n%swant:\n%s", golden, got, want)
			}
		})
	}
}

func TestFullExample(t *testing.T) {
	env := map[string]string{"ORDERS_API_KEY": "orders-secret-1234", "MCP_TOKEN": "mcp-secret-5678", "APPROVER_HOST": "approve.example.com", "APPROVER_SECRET": "approver-secret-9012"}
	cfg, err := Load("testdata/valid/full.yaml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Start != "front-desk" || cfg.StartAgent().Name != "front-desk" || cfg.MaxCallDuration.D() != 20*time.Minute ||
		cfg.IdleTimeout.D() != 30*time.Second || cfg.Approval.Policy != ApproveAsk || cfg.Approval.Webhook != "https://approve.example.com/callagent" {
		t.Fatalf("top level %+v", cfg)
	}
	fd := cfg.Agent("front-desk")
	if fd.Voice != "marin" || fd.Speed != 1.1 || !fd.Greeting.Enabled || fd.Greeting.Say == "" || fd.TurnDetection.Type != "semantic_vad" ||
		fd.Transcription.Model != "gpt-4o-mini-transcribe" || fd.Transcription.Language != "en" || fd.NoiseReduction != "near_field" ||
		!reflect.DeepEqual(fd.Handoffs, []string{"billing"}) || len(fd.Guardrails.Deny) != 1 || len(fd.Guardrails.DenyPhrases) != 1 {
		t.Fatalf("front-desk %+v", fd)
	}
	billing := cfg.Agent("billing")
	if !strings.Contains(billing.Instructions, "billing questions") || billing.Greeting.Enabled || !billing.Transcription.Disabled {
		t.Fatalf("billing %+v", billing)
	}
	orders := cfg.Tools[0]
	if orders.HTTP.Headers["Authorization"] != "Bearer orders-secret-1234" || orders.HTTP.Method != "POST" || orders.Timeout.D() != 5*time.Second {
		t.Fatalf("orders tool %+v", orders.HTTP)
	}
	if !reflect.DeepEqual(cfg.Secrets(), []string{"approver-secret-9012", "orders-secret-1234", "mcp-secret-5678"}) || cfg.Approval.WebhookSecret != "approver-secret-9012" {
		t.Fatalf("the values redacted from logs are not the three secrets of the file, in order (%d values)", len(cfg.Secrets()))
	}
	// The docs show this very file.
	doc, err := os.ReadFile("../../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile("testdata/valid/full.yaml")
	if !strings.Contains(string(doc), string(full)) {
		t.Error("docs/CONFIG.md does not contain testdata/valid/full.yaml verbatim: update the complete example")
	}
}

func TestStarterIsTheDefault(t *testing.T) {
	cfg := Default()
	if len(cfg.Agents) != 1 || cfg.Agents[0].Name != "greeter" || !cfg.Agents[0].Greeting.Enabled || len(cfg.Tools) != 2 {
		t.Fatalf("default %s", cfg.Summary())
	}
	// init writes it; it validates as a file too.
	path := filepath.Join(t.TempDir(), DefaultFile)
	if err := WriteStarter(path, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, noEnv); err != nil {
		t.Fatal(err)
	}
	if err := WriteStarter(path, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrite without force: %v", err)
	}
	if err := WriteStarter(path, true); err != nil {
		t.Fatal(err)
	}
}

func TestValidateGoConfig(t *testing.T) {
	cfg := &Config{Agents: []AgentSpec{{Name: "ada", Instructions: "Help.", Voice: "marni"}},
		Tools: []ToolSpec{{Name: "lookup", Description: "Look things up."}}}
	err := cfg.Validate(noEnv)
	if err == nil || !strings.Contains(err.Error(), `config: agents[ada]: voice "marni" is not a Realtime voice: did you mean "marin"?`) {
		t.Fatalf("err = %v", err)
	}
	cfg.Agents[0].Voice = ""
	if err := cfg.Validate(noEnv); err != nil {
		t.Fatal(err)
	}
	if cfg.Agents[0].Voice != DefaultVoice || cfg.Model != DefaultModel {
		t.Fatalf("defaults not filled: %+v", cfg)
	}
	// A tool without http, mcp or builtin is a Go function: it must be registered.
	if _, err := NewRuntime(cfg, RuntimeOptions{}); err == nil || !strings.Contains(err.Error(), "no Go function is registered") {
		t.Fatalf("NewRuntime: %v", err)
	}
}
