package sipcall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Engine is the OpenAI API a SIP call is accepted on.
type Engine string

const (
	EngineRealtime Engine = "realtime" // /v1/realtime/calls/{call_id}, sideband /v1/realtime?call_id=
	EngineLive     Engine = "live"     // /v1/live/sessions/{session_id}, sideband …/attach
)

// The incoming-call event types (openai resources/webhooks/webhooks.d.ts).
const (
	TypeRealtimeCallIncoming  = "realtime.call.incoming"
	TypeLiveTransportIncoming = "live.transport.incoming"
	// TypeLiveCallIncoming is deprecated ("use live.transport.incoming"), still
	// delivered to subscriptions made before, without data.type.
	TypeLiveCallIncoming = "live.call.incoming"
)

// Header is one SIP INVITE header as the webhook gives it. OpenAI keeps names,
// values, repeats and order, without the authorization headers; everything in it
// comes from the caller's side and is untrusted.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Incoming is an incoming SIP call, from either engine's webhook.
type Incoming struct {
	Engine Engine
	// ID is the call's id for every later operation, used as it is: Realtime's
	// data.call_id (rtc_…), Live's data.session_id (live_…). The same pending call
	// may be announced to both engines with different ids; the first successful
	// accept picks the engine (webhooks.d.ts).
	ID        string
	EventID   string // the body's "id" (evt_…)
	WebhookID string // the webhook-id header: the dedupe key (set by the caller of ParseIncoming)
	CreatedAt time.Time
	// From and To are the raw From and To header values (untrusted).
	From, To string
	Headers  []Header // every SIP header given (untrusted)
	// Type is the event type (TypeRealtimeCallIncoming, ...).
	Type string
	// MediaSecurity is data.sip_media_security: "srtp", "rtp", another value
	// (unknown) or "" (not said).
	MediaSecurity string
}

// maxID bounds a call id; ids are opaque, but they go into URL paths.
const maxID = 256

// ParseIncoming reads an incoming-call webhook body (already verified). Another
// well-formed event type returns ErrNotIncoming; a body that is not a valid
// incoming-call event returns an error wrapping ErrMalformed.
func ParseIncoming(body []byte) (Incoming, error) {
	var ev struct {
		ID        string `json:"id"`
		Object    string `json:"object"`
		Type      string `json:"type"`
		CreatedAt *int64 `json:"created_at"`
		Data      struct {
			CallID        string   `json:"call_id"`
			SessionID     string   `json:"session_id"`
			Type          string   `json:"type"`
			SIPHeaders    []Header `json:"sip_headers"`
			MediaSecurity string   `json:"sip_media_security"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		return Incoming{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Incoming{}, fmt.Errorf("%w: data after the event", ErrMalformed)
	}
	in := Incoming{EventID: ev.ID, Type: ev.Type, Headers: ev.Data.SIPHeaders, MediaSecurity: ev.Data.MediaSecurity}
	switch ev.Type {
	case TypeRealtimeCallIncoming:
		in.Engine, in.ID = EngineRealtime, ev.Data.CallID
	case TypeLiveTransportIncoming:
		// data.type says the transport; only "sip" is an incoming call (the guide:
		// "data.type: sip marks a SIP call").
		if ev.Data.Type != "sip" {
			return Incoming{}, fmt.Errorf("%w: %s with data.type %q", ErrNotIncoming, ev.Type, printable(ev.Data.Type))
		}
		in.Engine, in.ID = EngineLive, ev.Data.SessionID
	case TypeLiveCallIncoming:
		in.Engine, in.ID = EngineLive, ev.Data.SessionID
	case "":
		return Incoming{}, fmt.Errorf("%w: no type", ErrMalformed)
	default:
		return Incoming{}, fmt.Errorf("%w: %s", ErrNotIncoming, printable(ev.Type))
	}
	if ev.Object != "" && ev.Object != "event" {
		return Incoming{}, fmt.Errorf("%w: object %q", ErrMalformed, printable(ev.Object))
	}
	if ev.ID == "" {
		return Incoming{}, fmt.Errorf("%w: no id", ErrMalformed)
	}
	if err := checkID(in.ID); err != nil {
		return Incoming{}, err
	}
	if ev.CreatedAt == nil {
		return Incoming{}, fmt.Errorf("%w: no created_at", ErrMalformed)
	}
	in.CreatedAt = time.Unix(*ev.CreatedAt, 0)
	for _, h := range in.Headers {
		switch {
		case in.From == "" && strings.EqualFold(h.Name, "From"):
			in.From = h.Value
		case in.To == "" && strings.EqualFold(h.Name, "To"):
			in.To = h.Value
		}
	}
	return in, nil
}

// checkID accepts an opaque id that is safe as one URL path segment without
// escaping surprises: letters, digits and - _ . : (OpenAI's are rtc_…, live_…).
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: no call id", ErrMalformed)
	}
	if len(id) > maxID {
		return fmt.Errorf("%w: call id longer than %d bytes", ErrMalformed, maxID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return fmt.Errorf("%w: call id %q has a character ids do not have", ErrMalformed, printable(id))
		}
	}
	if id == "." || id == ".." {
		return fmt.Errorf("%w: call id %q", ErrMalformed, id)
	}
	return nil
}
