package twiliotransport

import (
	"encoding/json"

	"github.com/callagent/callagent/internal/jsonscan"
)

// Frame is one Media Streams message, either direction. FrameEvent returns its
// "event" member.
type Frame interface {
	FrameEvent() string
}

// Event names.
const (
	EventConnected = "connected"
	EventStart     = "start"
	EventMedia     = "media"
	EventMark      = "mark"
	EventDTMF      = "dtmf"
	EventStop      = "stop"
	EventClear     = "clear"
)

// Payload is base64 μ-law audio as it travels: relayed as text, never decoded here.
type Payload []byte

// MarshalJSON writes the base64 text as a JSON string.
func (p Payload) MarshalJSON() ([]byte, error) { return jsonscan.MarshalText(p) }

// UnmarshalJSON copies the text of a JSON string.
func (p *Payload) UnmarshalJSON(b []byte) error { return jsonscan.UnmarshalText((*[]byte)(p), b) }

// Counter is one of Twilio's numeric fields that travel as strings
// ("sequenceNumber":"12"); a bare number is accepted too.
type Counter int64

// MarshalJSON writes the number as a string, as Twilio does.
func (c Counter) MarshalJSON() ([]byte, error) {
	b := append([]byte{'"'}, jsonscan.AppendInt(nil, int64(c))...)
	return append(b, '"'), nil
}

// UnmarshalJSON reads "12" or 12.
func (c *Counter) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	n, ok := jsonscan.Int(b)
	if !ok {
		return &json.UnmarshalTypeError{Value: string(b), Type: counterType}
	}
	*c = Counter(n)
	return nil
}

// Connected is the first message of a stream.
type Connected struct {
	Protocol string `json:"protocol,omitempty"`
	Version  string `json:"version,omitempty"`
}

// Start describes the stream and the call; it precedes all media.
type Start struct {
	SequenceNumber Counter   `json:"sequenceNumber,omitempty"`
	StreamSid      string    `json:"streamSid,omitempty"`
	Start          StartInfo `json:"start"`
}

// StartInfo is the start message's metadata. CustomParameters carries the
// <Parameter>s of the TwiML <Stream>.
type StartInfo struct {
	AccountSid       string            `json:"accountSid,omitempty"`
	StreamSid        string            `json:"streamSid,omitempty"`
	CallSid          string            `json:"callSid,omitempty"`
	Tracks           []string          `json:"tracks,omitempty"`
	MediaFormat      MediaFormat       `json:"mediaFormat"`
	CustomParameters map[string]string `json:"customParameters,omitempty"`
}

// MediaFormat is the stream's audio format: audio/x-mulaw, 8000 Hz, 1 channel.
type MediaFormat struct {
	Encoding   string `json:"encoding,omitempty"`
	SampleRate int    `json:"sampleRate,omitempty"`
	Channels   int    `json:"channels,omitempty"`
}

// Media carries audio. Inbound (from Twilio) it has a track, chunk number and
// timestamp; outbound only a payload.
type Media struct {
	SequenceNumber Counter      `json:"sequenceNumber,omitempty"`
	StreamSid      string       `json:"streamSid,omitempty"`
	Media          MediaPayload `json:"media"`
	// Size is the decoded audio length in bytes, set by Stream.ReadFrame after it
	// checked the payload is base64.
	Size int `json:"-"`
}

// MediaPayload is the media member of a media message.
type MediaPayload struct {
	Track     string  `json:"track,omitempty"`
	Chunk     Counter `json:"chunk,omitempty"`
	Timestamp Counter `json:"timestamp,omitempty"` // ms since the stream started
	Payload   Payload `json:"payload"`
}

// Mark labels a point in the outbound audio; Twilio echoes it once the audio sent
// before it has played (or at once, after a clear).
type Mark struct {
	SequenceNumber Counter  `json:"sequenceNumber,omitempty"`
	StreamSid      string   `json:"streamSid,omitempty"`
	Mark           MarkInfo `json:"mark"`
}

// MarkInfo is the mark member of a mark message.
type MarkInfo struct {
	Name string `json:"name"`
}

// DTMF is a key the caller pressed.
type DTMF struct {
	SequenceNumber Counter  `json:"sequenceNumber,omitempty"`
	StreamSid      string   `json:"streamSid,omitempty"`
	DTMF           DTMFInfo `json:"dtmf"`
}

// DTMFInfo is the dtmf member of a dtmf message.
type DTMFInfo struct {
	Track string `json:"track,omitempty"`
	Digit string `json:"digit"`
}

// Stop ends the stream: the call hung up or the stream was stopped.
type Stop struct {
	SequenceNumber Counter  `json:"sequenceNumber,omitempty"`
	StreamSid      string   `json:"streamSid,omitempty"`
	Stop           StopInfo `json:"stop"`
}

// StopInfo is the stop member of a stop message.
type StopInfo struct {
	AccountSid string `json:"accountSid,omitempty"`
	CallSid    string `json:"callSid,omitempty"`
}

// Clear asks Twilio to drop all queued outbound audio.
type Clear struct {
	StreamSid string `json:"streamSid,omitempty"`
}

// Unknown is any message without a typed struct; Raw is the whole message.
type Unknown struct {
	Event string
	Raw   json.RawMessage
}

func (*Connected) FrameEvent() string { return EventConnected }
func (*Start) FrameEvent() string     { return EventStart }
func (*Media) FrameEvent() string     { return EventMedia }
func (*Mark) FrameEvent() string      { return EventMark }
func (*DTMF) FrameEvent() string      { return EventDTMF }
func (*Stop) FrameEvent() string      { return EventStop }
func (*Clear) FrameEvent() string     { return EventClear }
func (u *Unknown) FrameEvent() string { return u.Event }

var frameTypes = map[string]func() Frame{
	EventConnected: func() Frame { return new(Connected) },
	EventStart:     func() Frame { return new(Start) },
	EventMedia:     func() Frame { return new(Media) },
	EventMark:      func() Frame { return new(Mark) },
	EventDTMF:      func() Frame { return new(DTMF) },
	EventStop:      func() Frame { return new(Stop) },
	EventClear:     func() Frame { return new(Clear) },
}
