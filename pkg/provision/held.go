package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/callagent/callagent/internal/atomicfile"
)

// Things a dev creates outside Twilio for its session (dev --sip's OpenAI webhook
// endpoint) are recorded in the state directory, under held/, with the process
// that holds them: the next start deletes those whose process is gone (Abandoned),
// as it puts back numbers. The record holds an id, never a secret.

func (p *Provisioner) heldPath(kind, id string) string {
	return filepath.Join(filepath.Dir(p.stateDir), "held", filepath.Base(kind)+"-"+filepath.Base(id)+".json")
}

// Hold records that this process created the resource kind/id and deletes it when
// it stops.
func (p *Provisioner) Hold(kind, id string) error {
	data, _ := json.Marshal(saved{PID: os.Getpid(), ProcStart: selfStart, SavedAt: p.now(), AccountID: p.account})
	return atomicfile.WriteBytes(p.heldPath(kind, id), 0o700, data)
}

// Release forgets kind/id: it was deleted.
func (p *Provisioner) Release(kind, id string) error {
	err := os.Remove(p.heldPath(kind, id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Abandoned returns the ids of kind held by processes that are gone (killed);
// damaged records are returned too: what they name is not held by anyone alive.
func (p *Provisioner) Abandoned(kind string) ([]string, error) {
	dir := filepath.Join(filepath.Dir(p.stateDir), "held")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	var out []string
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Name(), kind+"-")
		if !ok || !strings.HasSuffix(id, ".json") {
			continue
		}
		var st saved
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && json.Unmarshal(data, &st) == nil && st.held() {
			continue
		}
		out = append(out, strings.TrimSuffix(id, ".json"))
	}
	return out, nil
}
