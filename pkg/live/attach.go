package live

import (
	"fmt"
	"net/url"
	"strings"
)

// AttachURL returns the WebSocket URL of the sideband of a started session:
// BASE/live/sessions/{id}/attach (the openai package's resources/live/sideband:
// buildURL; the voice-sip guide's sideband connection).
//
// What an attached socket carries (openai resources/live/sideband.d.ts,
// ConnectClientEvent / ConnectServerEvent): the client may send session.update,
// the appends (instructions, thinking, commentary), decisions, response.item.create,
// response.create, input mute/unmute, transport.dtmf.send and session.close, never
// session.start ("the session has already started") nor input audio ("send input
// audio over the primary connection"); the server sends the session's events,
// including the caller's audio reflected as session.input_audio.append (24 kHz PCM16)
// and the model's session.output_audio.delta, and transport.dtmf.* events.
func AttachURL(baseURL, sessionID string) (string, error) {
	if sessionID == "" || strings.ContainsAny(sessionID, "/?#%") || sessionID == "." || sessionID == ".." {
		return "", fmt.Errorf("attach: session id %q is not an id", sessionID)
	}
	s, err := URL(baseURL)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	u.Path += "/" + sessionID + "/attach"
	return u.String(), nil
}
