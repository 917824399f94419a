package inspector

import (
	"context"
	"errors"
	"net/http"
	"time"
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
	_, sid, ok := h.find(w, r)
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
	res, err := h.opts.Replay(ctx, sid)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		writeError(w, http.StatusGatewayTimeout, "the replay took longer than "+timeout.String())
		return
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, "replay: "+err.Error())
		return
	}
	if res.Failures == nil {
		res.Failures = []string{}
	}
	h.writeJSON(w, res)
}
