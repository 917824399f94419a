package twiliotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
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
	// AllowInsecureStream accepts a <Stream url="ws://…">, for a loopback
	// simulation whose server has an http public URL. Twilio itself streams only to
	// wss:// URLs: without this PlaceCall refuses ws:// as a stream error
	// (ErrStreamMalformedURL), as Twilio does.
	AllowInsecureStream bool
	// OmitSilence makes the caller's carrier suppress silence (CallerOptions).
	OmitSilence bool
	// FollowAction makes the twin do what Twilio does when the bridge closes a
	// <Connect><Stream>: request the <Connect>'s action URL at once (signed, with
	// the call's parameters and the action's method, POST by default) and keep the
	// TwiML it answers (Caller.WaitAction). A caller that hangs up (or is closed
	// by the test) ends the call: no action is requested then. Off by default, so
	// that callers of PlaceCall that do not serve an action see no extra request.
	FollowAction bool
	// PlayDelay, OnSend, OnReceive, OnClear and DiscardAudio are passed to the
	// caller (CallerOptions): a load generator's phone leg and its timing hooks.
	PlayDelay    time.Duration
	DiscardAudio bool
	OnSend       func(frame []byte)
	OnReceive    func(audio []byte, pos int64)
	OnClear      func(ClearRecord)
}

// Media Streams error codes PlaceCall reports, with Twilio's names for them
// (https://www.twilio.com/docs/api/errors/<code>).
const (
	// ErrStreamConnectionRefused is "Stream - WebSocket - Connection Refused".
	ErrStreamConnectionRefused = 31902
	// ErrStreamHandshake is "Stream - WebSocket - Handshake Error": the server
	// answered the upgrade with a status other than 101.
	ErrStreamHandshake = 31920
	// ErrStreamMalformedURL is "Stream - WebSocket - Malformed URL" ("URL schema is
	// malformed"): the twin's code for a stream URL that is not wss://.
	ErrStreamMalformedURL = 31923
)

// StreamError is PlaceCall's error when the stream the TwiML names cannot start:
// the Twilio error code, and the text posted as StreamError to the statusCallback.
type StreamError struct {
	Code    int
	Message string
	Err     error // the dial's error, if any
}

func (e *StreamError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("stream error %d: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("stream error %d: %s", e.Code, e.Message)
}

func (e *StreamError) Unwrap() error { return e.Err }

// PlaceCall does what Twilio does when a call comes in: it requests the voice
// webhook (signed), reads the TwiML, and opens the media stream it names (signed),
// with the stream's parameters. The returned Caller sends silence in real time
// until it is told to say something.
//
// Like Twilio, it posts the stream's events to the <Stream>'s statusCallback, if
// any (signed, with statusCallbackMethod, POST by default): stream-started once
// the stream is open, stream-stopped when it ends, and stream-error when it cannot
// start — then PlaceCall returns a *StreamError with the code. A ws:// stream URL
// is such an error unless AllowInsecureStream is set.
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
			Action string `xml:"action,attr"`
			Method string `xml:"method,attr"`
			Stream struct {
				URL                  string `xml:"url,attr"`
				Name                 string `xml:"name,attr"`
				StatusCallback       string `xml:"statusCallback,attr"`
				StatusCallbackMethod string `xml:"statusCallbackMethod,attr"`
				Params               []struct {
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
	ts := twiml.Connect.Stream
	status := streamStatus{url: ts.StatusCallback, method: ts.StatusCallbackMethod, token: o.AuthToken,
		form: url.Values{"AccountSid": {o.AccountSID}, "CallSid": {o.CallSID}, "StreamSid": {"MZ" + randomHex()}}}
	status.form.Set("StreamName", ts.Name)
	if ts.Name == "" {
		status.form.Set("StreamName", status.form.Get("StreamSid"))
	}
	stream := ts.URL
	if u, err := url.Parse(stream); err != nil || u.Scheme != "wss" && !(o.AllowInsecureStream && u.Scheme == "ws") {
		serr := &StreamError{Code: ErrStreamMalformedURL, Message: "Stream - WebSocket - Malformed URL: Twilio streams only to wss:// URLs"}
		status.post(ctx, "stream-error", serr)
		return nil, serr
	}
	dial := stream
	if o.AllowInsecureStream && strings.HasPrefix(dial, "wss://") {
		dial = "ws://" + strings.TrimPrefix(dial, "wss://") // loopback: no TLS; signed as named
	}
	caller, err := DialCaller(ctx, CallerOptions{
		URL:           dial,
		Header:        http.Header{"X-Twilio-Signature": {Sign(o.AuthToken, stream, nil)}},
		CallSID:       o.CallSID,
		StreamSID:     status.form.Get("StreamSid"),
		AccountSID:    o.AccountSID,
		Parameters:    params,
		FrameInterval: 20 * time.Millisecond,
		Continuous:    true,
		OmitSilence:   o.OmitSilence,
		PlayDelay:     o.PlayDelay,
		OnSend:        o.OnSend,
		OnReceive:     o.OnReceive,
		OnClear:       o.OnClear,
		DiscardAudio:  o.DiscardAudio,
	})
	if err != nil {
		serr := &StreamError{Code: ErrStreamConnectionRefused, Message: "Stream - WebSocket - Connection Refused", Err: err}
		var ne net.Error
		if !errors.As(err, &ne) {
			serr.Code, serr.Message = ErrStreamHandshake, "Stream - WebSocket - Handshake Error"
		}
		status.post(ctx, "stream-error", serr)
		return nil, serr
	}
	status.post(ctx, "stream-started", nil)
	action := twiml.Connect.Action
	if !o.FollowAction {
		action = ""
	}
	callForm := url.Values{"CallSid": {o.CallSID}, "AccountSid": {o.AccountSID}, "From": {o.From}, "To": {o.To},
		"CallStatus": {"in-progress"}, "Direction": {dir}}
	caller.wg.Go(func() {
		<-caller.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if action != "" && !caller.local.Load() {
			// The bridge ended the stream: the call goes on with the action's
			// TwiML, requested with no delay (the race a bridge must win).
			caller.setAction(requestAction(ctx, action, twiml.Connect.Method, o.AuthToken, callForm))
		}
		status.post(ctx, "stream-stopped", nil)
	})
	return caller, nil
}

// ActionResult is what the <Connect> action answered.
type ActionResult struct {
	Status int
	TwiML  string
	Err    error
}

// requestAction requests a <Connect> action URL as Twilio does once the stream
// ends: signed, with the call's parameters, by method (POST by default).
func requestAction(ctx context.Context, action, method, token string, form url.Values) ActionResult {
	var req *http.Request
	var err error
	if strings.EqualFold(method, http.MethodGet) {
		u := action + "?" + form.Encode()
		if strings.Contains(action, "?") {
			u = action + "&" + form.Encode()
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("X-Twilio-Signature", Sign(token, u, nil))
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, action, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", Sign(token, action, form))
		}
	}
	if err != nil {
		return ActionResult{Err: err}
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return ActionResult{Err: fmt.Errorf("connect action: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return ActionResult{Status: resp.StatusCode, TwiML: string(body), Err: err}
}

// streamStatus posts a stream's events to its statusCallback as Twilio does.
type streamStatus struct {
	url, method, token string
	form               url.Values // AccountSid, CallSid, StreamSid, StreamName
}

// post sends one event; like Twilio it does not care how it is answered.
func (s streamStatus) post(ctx context.Context, event string, serr *StreamError) {
	if s.url == "" {
		return
	}
	form := url.Values{}
	for k, v := range s.form {
		form[k] = v
	}
	form.Set("StreamEvent", event)
	form.Set("Timestamp", time.Now().UTC().Format(time.RFC3339))
	if serr != nil {
		form.Set("StreamError", fmt.Sprintf("%d %s", serr.Code, serr.Message))
	}
	var req *http.Request
	var err error
	if strings.EqualFold(s.method, http.MethodGet) {
		u := s.url + "?" + form.Encode()
		if strings.Contains(s.url, "?") {
			u = s.url + "&" + form.Encode()
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("X-Twilio-Signature", Sign(s.token, u, nil))
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", Sign(s.token, s.url, form))
		}
	}
	if err != nil {
		return
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	if resp, err := client.Do(req); err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

func randomHex() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
