package twiliotest

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CallOptions describe a call PlaceCall makes as Twilio would.
type CallOptions struct {
	// Webhook is the number's voice URL, e.g. http://127.0.0.1:5050/incoming-call.
	Webhook string
	// AuthToken signs the requests (X-Twilio-Signature).
	AuthToken string
	// CallSID and AccountSID identify the call; From and To are E.164 numbers.
	CallSID, AccountSID, From, To string
	// Direction is "inbound" (default) or "outbound-api".
	Direction string
	// HTTPClient requests the webhook (default: a fresh client).
	HTTPClient *http.Client
}

// PlaceCall does what Twilio does when a call comes in: it requests the voice
// webhook (signed), reads the TwiML, and opens the media stream it names (signed),
// with the stream's parameters. The returned Caller sends silence in real time
// until it is told to say something.
func PlaceCall(ctx context.Context, o CallOptions) (*Caller, error) {
	dir := o.Direction
	if dir == "" {
		dir = "inbound"
	}
	form := url.Values{"CallSid": {o.CallSID}, "AccountSid": {o.AccountSID}, "From": {o.From}, "To": {o.To},
		"CallStatus": {"ringing"}, "Direction": {dir}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.Webhook, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(o.AuthToken, o.Webhook, form))
	client := o.HTTPClient
	if client == nil {
		client = &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("voice webhook: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var twiml struct {
		Connect struct {
			Stream struct {
				URL    string `xml:"url,attr"`
				Params []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value,attr"`
				} `xml:"Parameter"`
			} `xml:"Stream"`
		} `xml:"Connect"`
	}
	if resp.StatusCode != http.StatusOK || xml.Unmarshal(body, &twiml) != nil || twiml.Connect.Stream.URL == "" {
		return nil, fmt.Errorf("voice webhook answered %d: %s", resp.StatusCode, body)
	}
	params := map[string]string{}
	for _, p := range twiml.Connect.Stream.Params {
		params[p.Name] = p.Value
	}
	stream := twiml.Connect.Stream.URL
	return DialCaller(ctx, CallerOptions{
		URL:           stream,
		Header:        http.Header{"X-Twilio-Signature": {Sign(o.AuthToken, stream, nil)}},
		CallSID:       o.CallSID,
		AccountSID:    o.AccountSID,
		Parameters:    params,
		FrameInterval: 20 * time.Millisecond,
		Continuous:    true,
	})
}
