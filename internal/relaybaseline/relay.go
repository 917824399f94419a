// Package relaybaseline is the simplest Twilio Media Streams ⇄ OpenAI Realtime relay,
// written the way most people write one: net/http, coder/websocket, encoding/json for
// every frame, one goroutine per direction. It answers /incoming-call with
// <Connect><Stream> TwiML, opens a Realtime session per stream with audio/pcmu both
// ways, relays input_audio_buffer.append and response.output_audio.delta, and sends
// Twilio a clear when the model hears the caller start speaking.
//
// It exists only as the yardstick of callagent's weight per call (memory, CPU): the
// load harness runs it as its own process (scripts/relaybaseline) beside `callagent
// serve`. It is not part of callagent and must stay naive: no signature checks, no
// logs, no truncation, no limits. Do not make it faster; make callagent lighter.
package relaybaseline

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Options configure the relay.
type Options struct {
	// OpenAIBaseURL is the API base, e.g. https://api.openai.com/v1 (the Realtime
	// socket is BASE/realtime?model=MODEL, http→ws, https→wss).
	OpenAIBaseURL string
	// APIKey is sent as the bearer token.
	APIKey string
	// Model and Voice default to gpt-realtime and marin.
	Model, Voice string
	// PublicURL is where Twilio reaches the relay (http(s)://host); the stream URL is
	// derived from it. Empty: wss://Host/media-stream from the webhook's Host header.
	PublicURL string
}

// Handler returns the relay's routes: POST /incoming-call and GET /media-stream.
func Handler(o Options) http.Handler {
	return handler(o, relay)
}

// relayFunc relays one call's audio both ways until either side ends; cancel closes
// both sockets.
type relayFunc func(ctx context.Context, cancel context.CancelFunc, twilio, openai *websocket.Conn, streamSid string)

func handler(o Options, relay relayFunc) http.Handler {
	if o.Model == "" {
		o.Model = "gpt-realtime"
	}
	if o.Voice == "" {
		o.Voice = "marin"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/incoming-call", func(w http.ResponseWriter, r *http.Request) {
		stream := "wss://" + r.Host + "/media-stream"
		if o.PublicURL != "" {
			stream = strings.Replace(strings.TrimSuffix(o.PublicURL, "/"), "http", "ws", 1) + "/media-stream"
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="%s"/></Connect></Response>`, stream)
	})
	mux.HandleFunc("/media-stream", func(w http.ResponseWriter, r *http.Request) {
		twilio, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer twilio.CloseNow()
		ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
		defer cancel()
		openai, streamSid, ok := open(ctx, twilio, o)
		if !ok {
			return
		}
		defer openai.CloseNow()
		relay(ctx, cancel, twilio, openai, streamSid)
	})
	return mux
}

type twilioMsg struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid,omitempty"`
	Start     *struct {
		StreamSid string `json:"streamSid"`
	} `json:"start,omitempty"`
	Media *struct {
		Payload string `json:"payload"`
	} `json:"media,omitempty"`
}

type openaiMsg struct {
	Type     string `json:"type"`
	Delta    string `json:"delta,omitempty"`
	Response *struct {
		Output []struct {
			Type   string `json:"type"`
			CallID string `json:"call_id"`
			Name   string `json:"name"`
		} `json:"output"`
	} `json:"response,omitempty"`
}

// open dials the model, sends the session, and waits for Twilio's start: the streamSid.
func open(ctx context.Context, twilio *websocket.Conn, o Options) (openai *websocket.Conn, streamSid string, ok bool) {
	u, err := url.Parse(strings.TrimSuffix(o.OpenAIBaseURL, "/") + "/realtime")
	if err != nil {
		return nil, "", false
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.RawQuery = url.Values{"model": {o.Model}}.Encode()
	openai, _, err = websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + o.APIKey}},
	})
	if err != nil {
		return nil, "", false
	}
	openai.SetReadLimit(1 << 20)

	update := map[string]any{
		"type": "session.update",
		"session": map[string]any{
			"type":              "realtime",
			"model":             o.Model,
			"instructions":      "You are a helpful assistant on a phone call.",
			"output_modalities": []string{"audio"},
			"audio": map[string]any{
				"input": map[string]any{
					"format":         map[string]any{"type": "audio/pcmu"},
					"turn_detection": map[string]any{"type": "server_vad"},
				},
				"output": map[string]any{
					"format": map[string]any{"type": "audio/pcmu"},
					"voice":  o.Voice,
				},
			},
			// One tool, answered with a fixed result: the relay does the job a
			// phone agent does (loadtest's model calls it), in the simplest way.
			"tools": []map[string]any{{
				"type": "function", "name": "weather", "description": "The weather in a city.",
				"parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
			}},
		},
	}
	if err := wsjson.Write(ctx, openai, update); err != nil {
		openai.CloseNow()
		return nil, "", false
	}

	// Twilio sends connected, then start with the stream's SID.
	for streamSid == "" {
		var m twilioMsg
		if err := wsjson.Read(ctx, twilio, &m); err != nil {
			openai.CloseNow()
			return nil, "", false
		}
		if m.Event == "start" && m.Start != nil {
			streamSid = m.Start.StreamSid
		}
	}
	return openai, streamSid, true
}

func relay(ctx context.Context, cancel context.CancelFunc, twilio, openai *websocket.Conn, streamSid string) {
	done := make(chan struct{}, 2)
	// Twilio → OpenAI.
	go func() {
		defer func() { done <- struct{}{} }()
		for {
			var m twilioMsg
			if err := wsjson.Read(ctx, twilio, &m); err != nil {
				return
			}
			switch m.Event {
			case "media":
				if m.Media == nil {
					continue
				}
				if err := wsjson.Write(ctx, openai, map[string]any{
					"type": "input_audio_buffer.append", "audio": m.Media.Payload,
				}); err != nil {
					return
				}
			case "stop":
				return
			}
		}
	}()
	// OpenAI → Twilio.
	go func() {
		defer func() { done <- struct{}{} }()
		for {
			var m openaiMsg
			if err := wsjson.Read(ctx, openai, &m); err != nil {
				return
			}
			switch m.Type {
			case "response.output_audio.delta":
				if err := wsjson.Write(ctx, twilio, map[string]any{
					"event": "media", "streamSid": streamSid, "media": map[string]any{"payload": m.Delta},
				}); err != nil {
					return
				}
			case "input_audio_buffer.speech_started":
				if err := wsjson.Write(ctx, twilio, map[string]any{"event": "clear", "streamSid": streamSid}); err != nil {
					return
				}
			case "response.done":
				if !answerTools(ctx, openai, m) {
					return
				}
			}
		}
	}()
	<-done
	cancel() // closes both sockets, which ends the other direction
	<-done
	openai.Close(websocket.StatusNormalClosure, "")
	twilio.Close(websocket.StatusNormalClosure, "")
}

// answerTools answers a response's function calls with a fixed result, then asks for a
// response to say it. It reports whether the writes went through.
func answerTools(ctx context.Context, openai *websocket.Conn, m openaiMsg) bool {
	if m.Response == nil {
		return true
	}
	called := false
	for _, it := range m.Response.Output {
		if it.Type != "function_call" {
			continue
		}
		called = true
		if err := wsjson.Write(ctx, openai, map[string]any{"type": "conversation.item.create", "item": map[string]any{
			"type": "function_call_output", "call_id": it.CallID, "output": `{"temperature_c":18,"conditions":"clear"}`,
		}}); err != nil {
			return false
		}
	}
	if called {
		return wsjson.Write(ctx, openai, map[string]any{"type": "response.create"}) == nil
	}
	return true
}
