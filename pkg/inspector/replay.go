package inspector

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/callagent/callagent/internal/atomicfile"
)

// ReplayResult is what a replay of a call (the --from-call replay: its caller's
// turns against the current configuration) found.
type ReplayResult struct {
	Passed bool `json:"passed"`
	// Failures are the expectations that did not hold.
	Failures []string `json:"failures"`
	// CallSID is the replay's own call.
	CallSID string `json:"call_sid"`
	// ExpectedTools and ActualTools are the tool calls, in order: the
	// original's and the replay's.
	ExpectedTools []string `json:"expected_tools"`
	ActualTools   []string `json:"actual_tools"`
	// ExpectedEnding and ActualEnding are the end reasons.
	ExpectedEnding string `json:"expected_ending"`
	ActualEnding   string `json:"actual_ending"`
	// ConfigHash and ReplayConfigHash are the digests of the agent the call
	// and the replay started with ("" when the call recorded none):
	// ConfigChanged says they differ.
	ConfigHash       string `json:"config_hash,omitempty"`
	ReplayConfigHash string `json:"replay_config_hash,omitempty"`
	ConfigChanged    bool   `json:"config_changed,omitempty"`
	// Overrides are the command line's changes to the configuration the replay
	// ran with (dev's --model, --voice…), as "flag value".
	Overrides []string `json:"overrides,omitempty"`
	// At is when the replay ran; Error, in a kept replay, why it could not.
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"`
}

// ReplayFunc replays the call sid.
type ReplayFunc func(ctx context.Context, sid string) (ReplayResult, error)

// DefaultReplayTimeout bounds a replay when Options.ReplayTimeout is 0.
const DefaultReplayTimeout = 2 * time.Minute

// TokenHeader carries the token on write actions (as does Authorization:
// Bearer): a header a cross-site form cannot set, unlike the cookie it sends.
const TokenHeader = "X-Callagent-Token"

// session answers the page's token to a request that already holds it (the
// cookie): the page then sends it in TokenHeader on write actions. Another
// site's page cannot read it: no CORS, and its Host is refused.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, map[string]any{"token": h.opts.Token, "replay": h.opts.Replay != nil})
}

// writeTokenOK reports whether a write request carries the token in a header,
// not only in the cookie a cross-site form would send along.
func (h *Handler) writeTokenOK(r *http.Request) bool {
	return h.tokenOK(bearer(r)) || h.tokenOK(r.Header.Get(TokenHeader))
}

func (h *Handler) replay(w http.ResponseWriter, r *http.Request) {
	if h.opts.Replay == nil {
		writeError(w, http.StatusNotFound, "replay is not offered by this inspector")
		return
	}
	if !h.writeTokenOK(r) {
		writeError(w, http.StatusForbidden, "a replay needs the token in the "+TokenHeader+" header (the page sends it)")
		return
	}
	path, sid, ok := h.find(w, r)
	if !ok {
		return
	}
	if !h.replaying.TryLock() {
		writeError(w, http.StatusConflict, "a replay is running: wait for it to finish")
		return
	}
	defer h.replaying.Unlock()
	timeout := h.opts.ReplayTimeout
	if timeout <= 0 {
		timeout = DefaultReplayTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	at := h.opts.Now()
	res, err := h.opts.Replay(ctx, sid)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		msg := "the replay took longer than " + timeout.String()
		h.keepReplay(path, ReplayResult{At: at, Error: msg})
		writeError(w, http.StatusGatewayTimeout, msg)
		return
	case err != nil:
		h.keepReplay(path, ReplayResult{At: at, Error: "replay: " + err.Error()})
		writeError(w, http.StatusUnprocessableEntity, "replay: "+err.Error())
		return
	}
	if res.Failures == nil {
		res.Failures = []string{}
	}
	res.At = at
	h.keepReplay(path, res)
	h.writeJSON(w, res)
}

// KeptReplays is how many replays of a call are kept (the newest).
const KeptReplays = 20

// replaysPath is where the replays of the call logged at path are kept: beside
// its log, CALLSID.replays.json (not .jsonl: not a call).
func replaysPath(path string) string {
	return strings.TrimSuffix(path, ".jsonl") + ".replays.json"
}

// replays are the kept replays of the call logged at path, oldest first;
// none when there are none or the file cannot be read.
func (h *Handler) replays(path string) []ReplayResult {
	out := []ReplayResult{}
	data, err := os.ReadFile(replaysPath(path))
	if err != nil || json.Unmarshal(data, &out) != nil || out == nil {
		return []ReplayResult{}
	}
	return out
}

// keepReplay adds res to the call's kept replays, the oldest dropped beyond
// KeptReplays, written beside and renamed (atomicfile: a reader never sees half a file).
// Redacted like every answer. A failure to keep it loses only the history.
func (h *Handler) keepReplay(path string, res ReplayResult) {
	h.keepMu.Lock()
	defer h.keepMu.Unlock()
	rs := append(h.replays(path), res)
	if len(rs) > KeptReplays {
		rs = rs[len(rs)-KeptReplays:]
	}
	data, err := json.Marshal(rs)
	if err != nil {
		return
	}
	if h.opts.Redactor != nil {
		data = h.opts.Redactor.Redact(data)
	}
	atomicfile.WriteBytes(replaysPath(path), 0o700, data)
}
