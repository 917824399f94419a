package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
)

// A number another callagent dev holds (another machine): on a terminal dev asks
// before touching it, showing where it goes now. No takes nothing; yes takes it
// over, and on exit the number goes back to the other dev's URL.
func TestDevTakeOverAsks(t *testing.T) {
	other := devNumber
	other.VoiceURL, other.VoiceMethod = "https://laptop-a.ngrok.app/incoming-call?callagent_dev=0123456789ab", "POST"
	for _, answer := range []string{"n", "y"} {
		t.Run(answer, func(t *testing.T) {
			leakcheck.Check(t)
			h := newDevHarness(t)
			h.env["NO_COLOR"] = "1"
			h.api.ReplaceNumber(other)
			h.in, h.tty = strings.NewReader(answer+"\n"), true
			h.launch()
			h.waitErr("Take it over?")
			if !strings.Contains(h.errOut.String(), other.VoiceURL) {
				t.Errorf("the question does not show where the number goes now:\n%s", h.errOut.String())
			}
			if answer == "n" {
				select {
				case err := <-h.done:
					if err == nil || !strings.Contains(err.Error(), "--take-over") {
						t.Fatalf("dev after no: %v", err)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("dev did not stop after no")
				}
				if h.api.Number("PN1") != other {
					t.Fatalf("the number was touched: %+v", h.api.Number("PN1"))
				}
				return
			}
			h.waitErr("Ready.")
			if got := h.api.Number("PN1").VoiceURL; !strings.Contains(got, "callagent_dev=") || got == other.VoiceURL {
				t.Fatalf("not taken over: %s", got)
			}
			data, _ := os.ReadFile(filepath.Join(h.env["CALLAGENT_STATE_DIR"], "numbers", "PN1.json"))
			if !strings.Contains(string(data), `"took_over_from": "`+other.VoiceURL) {
				t.Errorf("state: %s", data)
			}
			h.cancel()
			if err := <-h.done; err != nil {
				t.Fatalf("dev: %v\n%s", err, h.errOut.String())
			}
			if got := h.api.Number("PN1"); got != other {
				t.Fatalf("not given back to the other dev: %+v", got)
			}
			if !strings.Contains(h.errOut.String(), "that dev, or its next start, puts the original back") {
				t.Errorf("stderr:\n%s", h.errOut.String())
			}
		})
	}
}
