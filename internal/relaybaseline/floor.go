package relaybaseline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/coder/websocket"
)

// FloorHandler is the other yardstick: the least work a Go relay can do per frame
// on the same wire. Where Handler decodes and encodes every frame with encoding/json,
// the floor relay finds the payload with a byte search, splices it into a message built
// in a reused buffer, and reads and writes through coder/websocket without a
// per-frame allocation or timer. It does what Handler does (the same session, the
// same clear, the same tool answer) and nothing else.
//
// It bounds from below what any relay built on Go's network stack costs: what is left
// of its CPU is the system calls and scheduling that moving the frames takes, which
// every relay that forwards each frame when it arrives pays. The load harness runs it
// beside the baseline and serve (scripts/relaybaseline -floor) so a CPU target can be
// set against what is reachable.
func FloorHandler(o Options) http.Handler {
	return handler(o, floorRelay)
}

// floorRelay relays one call like relay, with the per-frame work cut to a byte search
// and a copy. The setup (the session, the start event, a tool call) is rare and keeps
// encoding/json.
func floorRelay(ctx context.Context, cancel context.CancelFunc, twilio, openai *websocket.Conn, streamSid string) {
	// Per-frame reads and writes take a context that is never cancelled, so
	// coder/websocket arms nothing for them; ending the call closes the sockets,
	// which ends both loops.
	bg := context.Background()
	stop := context.AfterFunc(ctx, func() { twilio.CloseNow(); openai.CloseNow() })
	defer stop()

	done := make(chan struct{}, 2)
	go func() { // Twilio → OpenAI
		defer func() { done <- struct{}{} }()
		var in, out []byte
		for {
			var err error
			if in, err = readInto(bg, twilio, in[:0]); err != nil {
				return
			}
			switch string(field(in, `"event":"`)) {
			case "media":
				out = append(append(append(out[:0], `{"type":"input_audio_buffer.append","audio":"`...),
					field(in, `"payload":"`)...), `"}`...)
				if openai.Write(bg, websocket.MessageText, out) != nil {
					return
				}
			case "stop":
				return
			}
		}
	}()
	go func() { // OpenAI → Twilio
		defer func() { done <- struct{}{} }()
		var in, out []byte
		for {
			var err error
			if in, err = readInto(bg, openai, in[:0]); err != nil {
				return
			}
			switch string(field(in, `"type":"`)) {
			case "response.output_audio.delta":
				out = append(append(append(append(append(out[:0], `{"event":"media","streamSid":"`...),
					streamSid...), `","media":{"payload":"`...), field(in, `"delta":"`)...), `"}}`...)
				if twilio.Write(bg, websocket.MessageText, out) != nil {
					return
				}
			case "input_audio_buffer.speech_started":
				out = append(append(append(out[:0], `{"event":"clear","streamSid":"`...), streamSid...), `"}`...)
				if twilio.Write(bg, websocket.MessageText, out) != nil {
					return
				}
			case "response.done":
				var m openaiMsg
				if json.Unmarshal(in, &m) != nil || !answerTools(bg, openai, m) {
					return
				}
			}
		}
	}()
	<-done
	cancel()
	<-done
	openai.Close(websocket.StatusNormalClosure, "")
	twilio.Close(websocket.StatusNormalClosure, "")
}

// field returns the JSON string value after the first occurrence of key (a key with
// its colon and opening quote), up to its closing quote: the event's type and the
// audio payload, whose values hold no escapes. Not a JSON parser: the first
// occurrence of "type" is the event's own in the messages OpenAI and Twilio send.
func field(msg []byte, key string) []byte {
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return nil
	}
	v := msg[i+len(key):]
	if j := bytes.IndexByte(v, '"'); j >= 0 {
		return v[:j]
	}
	return nil
}

// readInto reads the next message into buf's storage, growing it only for a larger
// message than any before.
func readInto(ctx context.Context, c *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := c.Reader(ctx)
	if err != nil {
		return buf, err
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
