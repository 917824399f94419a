package livebridge_test

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

	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/livebridge"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// The Live relay benchmarks run the real path (twiliotransport.Stream, session,
// livebridge.Leg, live.Conn) between two raw WebSocket peers on loopback, as the
// session's Realtime benchmarks do: time and allocations per 20 ms frame.

var (
	frameAudio  = bytes.Repeat([]byte{0x7f, 0xff}, 80) // one quiet 20 ms frame
	frameB64    = base64.StdEncoding.EncodeToString(frameAudio)
	twilioMedia = []byte(`{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"20","payload":"` + frameB64 + `"},"streamSid":"MZbench"}`)
	twilioStart = []byte(`{"event":"start","sequenceNumber":"1","start":{"accountSid":"ACbench","streamSid":"MZbench","callSid":"CAbench","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZbench"}`)
	liveDelta   = []byte(`{"type":"session.output_audio.delta","delta":"` + frameB64 + `"}`)
	liveStarted = []byte(`{"type":"session.started","event_id":"ev1","session":{"id":"sess_b","expires_at":0,"model":"gpt-live-1","status":"active","audio":{"format":{"type":"audio/pcmu","rate":8000}}}}`)
)

type benchPeers struct {
	twilio   *websocket.Conn
	model    chan *websocket.Conn
	modelSrv *httptest.Server
	srv      *httptest.Server
	done     sync.WaitGroup
	cancel   context.CancelFunc
}

func newBenchPeers(b *testing.B) *benchPeers {
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
		opts := session.Options{Caller: stream, CallerIdleTimeout: -1, MaxBufferedAudio: time.Hour,
			Dial: func(ctx context.Context) (session.ModelLeg, error) {
				return livebridge.Dial(ctx, livebridge.Options{Dial: live.DialOptions{BaseURL: p.modelSrv.URL, APIKey: key}})
			}}
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

// started waits for session.start and answers it.
func (p *benchPeers) started(b *testing.B) *websocket.Conn {
	model := <-p.model
	if err := drain(model, []byte(`"session.start"`), 1); err != nil {
		b.Fatal(err)
	}
	if err := model.Write(context.Background(), websocket.MessageText, liveStarted); err != nil {
		b.Fatal(err)
	}
	return model
}

func BenchmarkLiveRelayCallerToModel(b *testing.B) {
	p := newBenchPeers(b)
	defer p.close()
	model := p.started(b)
	if err := p.twilio.Write(context.Background(), websocket.MessageText, twilioMedia); err != nil {
		b.Fatal(err)
	}
	if err := drain(model, []byte(`"session.input_audio.append"`), 1); err != nil {
		b.Fatal(err)
	}
	errc := make(chan error, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(frameAudio)))
	b.ResetTimer()
	go func() { errc <- drain(model, []byte(`"session.input_audio.append"`), b.N) }()
	for range b.N {
		if err := p.twilio.Write(context.Background(), websocket.MessageText, twilioMedia); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkLiveRelayModelToCaller(b *testing.B) {
	p := newBenchPeers(b)
	defer p.close()
	model := p.started(b)
	ctx := context.Background()
	// One delta first: the turn's response is opened before the clock starts.
	if err := model.Write(ctx, websocket.MessageText, liveDelta); err != nil {
		b.Fatal(err)
	}
	if err := drain(p.twilio, []byte(`"event":"media"`), 1); err != nil {
		b.Fatal(err)
	}
	errc := make(chan error, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(frameAudio)))
	b.ResetTimer()
	go func() { errc <- drain(p.twilio, []byte(`"event":"media"`), b.N) }()
	for range b.N {
		if err := model.Write(ctx, websocket.MessageText, liveDelta); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
