package cmd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
)

// devFails launches dev and returns the error it stops with before it is ready.
func (h *devHarness) devFails(args ...string) error {
	h.t.Helper()
	h.launch(args...)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-h.done:
			return err
		case <-deadline:
			h.t.Fatalf("dev did not stop\n%s", h.errOut)
		case <-time.After(10 * time.Millisecond):
		}
		if strings.Contains(h.errOut.String(), "Ready.") {
			h.cancel()
			<-h.done
			h.t.Fatalf("dev started with a recording directory it cannot write:\n%s", h.errOut)
		}
	}
}

// A --record-dir dev cannot write is refused at start, before the number is
// touched, not found after a call is lost (issue 16, item 6).
func TestFaultDevRecordDirUnwritable(t *testing.T) {
	leakcheck.Check(t)
	h := newDevHarness(t)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	err := h.devFails("--record-dir", filepath.Join(file, "recordings"))
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--record-dir "+filepath.Join(file, "recordings")+": calls cannot be recorded there") ||
		!strings.Contains(err.Error(), "choose a directory you can write to, or pass --no-record") {
		t.Fatalf("err = %v", err)
	}
	if got := h.api.Number("PN1"); got != devNumber {
		t.Fatalf("the number was changed: %+v", got)
	}
}

// dev records every call into the state directory's recordings/ unless
// --no-record (or CALLAGENT_NO_RECORD); a default directory it cannot write is a
// warning at start, and calls go on unrecorded.
func TestDevRecordsByDefault(t *testing.T) {
	leakcheck.Check(t)
	t.Run("off", func(t *testing.T) {
		h := newDevHarness(t)
		h.env["CALLAGENT_NO_RECORD"] = "true"
		h.start()
		if strings.Contains(h.errOut.String(), "  Records   ") {
			t.Fatalf("banner:\n%s", h.errOut)
		}
		h.call("CA00000000000000000000000000000071")
		h.stop()
		if _, err := os.Stat(filepath.Join(h.env["CALLAGENT_STATE_DIR"], "recordings")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("recordings/ with --no-record: %v", err)
		}
	})
	t.Run("default", func(t *testing.T) {
		h := newDevHarness(t)
		h.start()
		dir := filepath.Join(h.env["CALLAGENT_STATE_DIR"], "recordings")
		h.waitErr("Records   " + dir)
		h.call("CA00000000000000000000000000000072")
		wav := filepath.Join(dir, "CA00000000000000000000000000000072.wav")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if fi, err := os.Stat(wav); err == nil {
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v", wav, fi.Mode())
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s", wav)
			}
		}
		h.stop()
	})
	t.Run("default unwritable", func(t *testing.T) {
		h := newDevHarness(t)
		state := h.env["CALLAGENT_STATE_DIR"]
		os.WriteFile(filepath.Join(state, "recordings"), nil, 0o600) // a file where the directory goes
		h.start()
		if !strings.Contains(h.errOut.String(), "calls are not recorded (set --record-dir, or --no-record)") ||
			strings.Contains(h.errOut.String(), "  Records   ") {
			t.Fatalf("stderr:\n%s", h.errOut)
		}
		h.stop()
	})
}

func TestPruneRecordings(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	files := map[string]time.Duration{ // name: age
		"CA01.wav": 20 * 24 * time.Hour, "CA02.wav": 10 * 24 * time.Hour, "CA03.wav": 2 * time.Hour, "CA04.wav": 0,
		"mine.wav": 30 * 24 * time.Hour, "CA05.txt": 30 * 24 * time.Hour, // not recordings: never removed
	}
	for name, age := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, make([]byte, 100), 0o600)
		os.Chtimes(p, now.Add(-age), now.Add(-age))
	}
	left := func() string {
		var names []string
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return strings.Join(names, " ")
	}
	if n, err := pruneRecordings(dir, 14*24*time.Hour, 0, now); n != 1 || err != nil || left() != "CA02.wav CA03.wav CA04.wav CA05.txt mine.wav" {
		t.Fatalf("by age: %d %v: %s", n, err, left())
	}
	// By size: the oldest go first; one written in the last minute stays.
	if n, err := pruneRecordings(dir, 0, 150, now); n != 2 || err != nil || left() != "CA04.wav CA05.txt mine.wav" {
		t.Fatalf("by size: %d %v: %s", n, err, left())
	}
	if _, err := pruneRecordings(filepath.Join(dir, "none"), time.Hour, 0, now); err == nil {
		t.Fatal("a missing directory: no error")
	}
}

// --record-max-age takes the call logs' duration syntax.
func TestRecordingFlags(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "k", "TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken, "NGROK_AUTHTOKEN": "n"}
	o, err := parseDev(t, env, "--record-max-age", "2d", "--record-max-size", "1GiB", "--no-record")
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(o.recordings.MaxAge) != 48*time.Hour || o.recordings.MaxSize != 1<<30 || !o.recordings.Off {
		t.Fatalf("%+v", o.recordings)
	}
	if _, err := parseDev(t, env, "--record-max-age", "2 weeks"); err == nil {
		t.Fatal("--record-max-age '2 weeks' accepted")
	}
}
