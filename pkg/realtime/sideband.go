package realtime

import (
	"fmt"
	"net/url"
	"strings"
)

// SidebandURL returns the WebSocket URL of the sideband of an accepted SIP call:
// BASE/realtime?call_id=ID ("Realtime API with SIP": the application connects to the
// call's session with its call_id; the session is the one the accept configured, so
// there is no model parameter). The socket is an ordinary Realtime connection
// (session.update, conversation items, responses, tools) whose audio travels over
// SIP, not over it.
func SidebandURL(baseURL, callID string) (string, error) {
	if callID == "" {
		return "", fmt.Errorf("sideband: no call id")
	}
	s, err := URL(baseURL, DefaultModel)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(callID, "/?#&") {
		return "", fmt.Errorf("sideband: call id %q is not an id", callID)
	}
	u.RawQuery = url.Values{"call_id": {callID}}.Encode()
	return u.String(), nil
}
