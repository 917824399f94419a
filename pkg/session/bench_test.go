package session_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// The relay benchmarks run the real path (twiliotransport.Stream, session, realtime.Conn)
// between two raw WebSocket peers on loopback that send pre-encoded frames and only
// count what arrives, so the figures are the bridge's: time and allocations per frame,
// syscalls included.

var (
	frameAudio   = bytes.Repeat([]byte{0x7f, 0xff}, 80) // one 20 ms frame
	frameB64     = base64.StdEncoding.EncodeToString(frameAudio)
	twilioMedia  = []byte(`{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"20","payload":"` + frameB64 + `"},"streamSid":"MZbench"}`)
	twilioStart  = []byte(`{"event":"start","sequenceNumber":"1","start":{"accountSid":"ACbench","streamSid":"MZbench","callSid":"CAbench","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZbench"}`)
	modelDelta   = []byte(`{"type":"response.output_audio.delta","event_id":"event_B1","response_id":"resp_B1","item_id":"item_B1","output_index":0,"content_index":0,"delta":"` + frameB64 + `"}`)
	modelCreated = []byte(`{"type":"response.created","response":{"id":"resp_B1","status":"in_progress"}}`)
)

// benchPeers is a bridge between a raw Twilio peer and a raw model peer.
type benchPeers struct {
	twilio   *websocket.Conn // our end of the media stream
	model    chan *websocket.Conn
	modelSrv *httptest.Server
	srv      *httptest.Server
	done     sync.WaitGroup
	cancel   context.CancelFunc
}

// newBenchPeers starts a bridge; mutate, when set, changes the session's options
// (an event sink, debug frames).
func newBenchPeers(b *testing.B, mutate func(*session.Options)) *benchPeers {
	p := &benchPeers{model: make(chan *websocket.Conn, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.modelSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		p.model <- ws
		<-ctx.Done()
	}))
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stream, err := twiliotransport.Accept(w, r, twiliotransport.StreamOptions{})
		if err != nil {
			b.Error(err)
			return
		}
		// Audio that arrives before the model is ready is queued, up to
		// MaxBufferedAudio, and the oldest dropped beyond it. A benchmark sends far
		// faster than a phone (10 s of audio in a few ms), so a bounded queue could
		// drop frames the reader then waits for forever: keep them all.
		opts := session.Options{Caller: stream, CallerIdleTimeout: -1, MaxBufferedAudio: time.Hour,
			Dial: func(ctx context.Context) (session.ModelLeg, error) {
				return realtime.Dial(ctx, realtime.DialOptions{BaseURL: p.modelSrv.URL, APIKey: testKey})
			}}
		if mutate != nil {
			mutate(&opts)
		}
		s, err := session.New(opts)
		if err != nil {
			b.Error(err)
			return
		}
		p.done.Go(func() { s.Run(ctx) })
		p.done.Wait()
	}))
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(p.srv.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	p.twilio = ws
	if err := ws.Write(context.Background(), websocket.MessageText, twilioStart); err != nil {
		b.Fatal(err)
	}
	return p
}

func (p *benchPeers) close() {
	p.cancel()
	p.twilio.CloseNow()
	p.srv.Close()
	p.modelSrv.Close()
}

// drain reads messages from ws, counting those that contain marker, until want.
func drain(ws *websocket.Conn, marker []byte, want int) error {
	buf := make([]byte, 64<<10)
	for n := 0; n < want; {
		_, r, err := ws.Reader(context.Background())
		if err != nil {
			return err
		}
		m := 0
		for {
			k, err := r.Read(buf[m:])
			m += k
			if err != nil {
				break
			}
		}
		if bytes.Contains(buf[:m], marker) {
			n++
		}
	}
	return nil
}

// sinks are the ways a call's events can be consumed while audio is relayed: none,
// the call log (as serve runs it), and the call log with every non-audio frame
// traced (as dev runs it).
func sinks(b *testing.B) map[string]func(*session.Options) {
	return map[string]func(*session.Options){
		"bare": nil,
		"calllog": func(o *session.Options) {
			w := calllog.NewWriter(calllog.Options{Dir: b.TempDir()})
			b.Cleanup(func() { w.Close() })
			o.OnEvent = w.Event
		},
		"calllog+frames": func(o *session.Options) {
			w := calllog.NewWriter(calllog.Options{Dir: b.TempDir()})
			b.Cleanup(func() { w.Close() })
			o.OnEvent, o.Debug = w.Event, true
		},
	}
}

func BenchmarkRelayCallerToModel(b *testing.B) {
	for _, name := range []string{"bare", "calllog", "calllog+frames"} {
		b.Run(name, func(b *testing.B) { benchCallerToModel(b, sinks(b)[name]) })
	}
}

func BenchmarkRelayModelToCaller(b *testing.B) {
	for _, name := range []string{"bare", "calllog", "calllog+frames"} {
		b.Run(name, func(b *testing.B) { benchModelToCaller(b, sinks(b)[name]) })
	}
}

func benchCallerToModel(b *testing.B, mutate func(*session.Options)) {
	p := newBenchPeers(b, mutate)
	defer p.close()
	model := <-p.model
	// Wait for session.update: the session is configured and relaying directly.
	if err := drain(model, []byte(`"session.update"`), 1); err != nil {
		b.Fatal(err)
	}
	// One frame through before the clock starts, so the queue of audio that came
	// before the model was ready is flushed by then, not measured.
	if err := p.twilio.Write(context.Background(), websocket.MessageText, twilioMedia); err != nil {
		b.Fatal(err)
	}
	if err := drain(model, []byte(`"input_audio_buffer.append"`), 1); err != nil {
		b.Fatal(err)
	}
	errc := make(chan error, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(frameAudio)))
	b.ResetTimer()
	go func() { errc <- drain(model, []byte(`"input_audio_buffer.append"`), b.N) }()
	for range b.N {
		if err := p.twilio.Write(context.Background(), websocket.MessageText, twilioMedia); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}

func benchModelToCaller(b *testing.B, mutate func(*session.Options)) {
	p := newBenchPeers(b, mutate)
	defer p.close()
	model := <-p.model
	if err := drain(model, []byte(`"session.update"`), 1); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := model.Write(ctx, websocket.MessageText, modelCreated); err != nil {
		b.Fatal(err)
	}
	errc := make(chan error, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(frameAudio)))
	b.ResetTimer()
	go func() { errc <- drain(p.twilio, []byte(`"event":"media"`), b.N) }()
	for range b.N {
		if err := model.Write(ctx, websocket.MessageText, modelDelta); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRelayMalformedFrames is a caller that sends a malformed frame before
// each good one, with the call log as serve runs it: the cost of a flood of bad
// frames per pair (each bad frame is counted; its warning is rate-limited).
func BenchmarkRelayMalformedFrames(b *testing.B) {
	p := newBenchPeers(b, sinks(b)["calllog"])
	defer p.close()
	model := <-p.model
	if err := drain(model, []byte(`"session.update"`), 1); err != nil {
		b.Fatal(err)
	}
	bad := []byte(`{"event":"media","media":{"payload":"@@@@"}}`)
	ctx := context.Background()
	if err := p.twilio.Write(ctx, websocket.MessageText, twilioMedia); err != nil {
		b.Fatal(err)
	}
	if err := drain(model, []byte(`"input_audio_buffer.append"`), 1); err != nil {
		b.Fatal(err)
	}
	errc := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	go func() { errc <- drain(model, []byte(`"input_audio_buffer.append"`), b.N) }()
	for range b.N {
		if err := p.twilio.Write(ctx, websocket.MessageText, bad); err != nil {
			b.Fatal(err)
		}
		if err := p.twilio.Write(ctx, websocket.MessageText, twilioMedia); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
