package twiliotest

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// The fakes are what every bridge test stands on, so they are tested against the
// behaviour they claim.

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// twilioServer accepts one fake caller and hands the server side to the test.
func twilioServer(t *testing.T) (*httptest.Server, chan *websocket.Conn) {
	conns := make(chan *websocket.Conn, 1)
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		conns <- ws
		<-stop
		ws.CloseNow()
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv, conns
}

func readTwilio(t *testing.T, ws *websocket.Conn) twiliotransport.Frame {
	t.Helper()
	_, data, err := ws.Read(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := twiliotransport.DecodeFrame(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func writeTwilio(t *testing.T, ws *websocket.Conn, f twiliotransport.Frame) {
	t.Helper()
	data, _ := twiliotransport.Marshal(f)
	if err := ws.Write(context.Background(), websocket.MessageText, data); err != nil {
		t.Fatal(err)
	}
}

func TestCallerPlaysInRealTimeAndEchoesMarks(t *testing.T) {
	leakcheck.Check(t)
	srv, conns := twilioServer(t)
	c, err := DialCaller(ctxT(t), CallerOptions{URL: "ws" + strings.TrimPrefix(srv.URL, "http"), FrameInterval: -1,
		Parameters: map[string]string{"From": "+1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ws := <-conns
	defer ws.CloseNow() // runs first: the caller sees the bridge hang up
	if f := readTwilio(t, ws); f.FrameEvent() != "connected" {
		t.Fatalf("first frame %s", f.FrameEvent())
	}
	st := readTwilio(t, ws).(*twiliotransport.Start)
	if st.Start.CallSid != c.CallSID() || st.Start.MediaFormat.SampleRate != 8000 || st.Start.CustomParameters["From"] != "+1" {
		t.Fatalf("start %+v", st)
	}

	// 200 ms of audio, then a mark: the echo comes once it has played, after the
	// phone leg's delay, not before.
	sent := time.Now()
	audio := make([]byte, 1600)
	writeTwilio(t, ws, &twiliotransport.Media{Media: twiliotransport.MediaPayload{Payload: twiliotransport.Payload(base64.StdEncoding.EncodeToString(audio))}})
	writeTwilio(t, ws, &twiliotransport.Mark{Mark: twiliotransport.MarkInfo{Name: "m1"}})
	echo := readTwilio(t, ws).(*twiliotransport.Mark)
	if echo.Mark.Name != "m1" || time.Since(sent) < 190*time.Millisecond+DefaultPlayDelay {
		t.Fatalf("mark %q echoed after %v, before its audio played", echo.Mark.Name, time.Since(sent))
	}
	if got := c.PlayedAt(time.Now()); got != 1600 {
		t.Fatalf("played %d bytes, want 1600", got)
	}
	if got := c.PlayedAt(sent.Add(DefaultPlayDelay - 5*time.Millisecond)); got != 0 {
		t.Fatalf("played %d bytes before the audio crossed the leg", got)
	}

	// A clear drops the queue and echoes pending marks at once. The margins are
	// wide (2 s queued, cleared after ~300 ms of it): a loaded machine delays each
	// step by tens of milliseconds, and "at once" is still well under the ~1.7 s
	// of audio left.
	writeTwilio(t, ws, &twiliotransport.Media{Media: twiliotransport.MediaPayload{Payload: twiliotransport.Payload(base64.StdEncoding.EncodeToString(make([]byte, 16000)))}})
	writeTwilio(t, ws, &twiliotransport.Mark{Mark: twiliotransport.MarkInfo{Name: "m2"}})
	time.Sleep(DefaultPlayDelay + 300*time.Millisecond)
	cleared := time.Now()
	writeTwilio(t, ws, &twiliotransport.Clear{})
	if echo := readTwilio(t, ws).(*twiliotransport.Mark); echo.Mark.Name != "m2" || time.Since(cleared) > time.Second {
		t.Fatalf("pending mark %q not echoed at once after clear (%v)", echo.Mark.Name, time.Since(cleared))
	}
	if err := c.WaitClears(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	cl := c.Clears()[0]
	if cl.Played < 1600+800 || cl.Played >= 1600+16000 || cl.Queued != 1600+16000 {
		t.Fatalf("clear record %+v", cl)
	}
	if after := c.PlayedAt(time.Now().Add(time.Second)); after != cl.Played {
		t.Fatalf("kept playing after the clear: %d > %d", after, cl.Played)
	}

	// Outgoing audio: 20 ms frames, the last one padded with silence.
	c.Say(make([]byte, 200))
	for i, want := range []int{160, 160} {
		m := readTwilio(t, ws).(*twiliotransport.Media)
		b, _ := base64.StdEncoding.DecodeString(string(m.Media.Payload))
		if len(b) != want || m.Media.Track != "inbound" || m.Media.Timestamp != twiliotransport.Counter(20*i) {
			t.Fatalf("media frame of %d bytes on track %q at %d ms", len(b), m.Media.Track, m.Media.Timestamp)
		}
	}
	if err := c.WaitSent(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if s := c.Sent(); len(s) != 320 || s[200] != Silence || s[199] != 0 {
		t.Fatalf("sent %d bytes, padding wrong", len(s))
	}
}

// With OmitSilence, silent frames are not sent and the timestamps jump over them.
func TestCallerOmitsSilence(t *testing.T) {
	leakcheck.Check(t)
	srv, conns := twilioServer(t)
	c, err := DialCaller(ctxT(t), CallerOptions{URL: "ws" + strings.TrimPrefix(srv.URL, "http"), FrameInterval: -1, OmitSilence: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ws := <-conns
	defer ws.CloseNow()
	readTwilio(t, ws) // connected
	readTwilio(t, ws) // start
	voice := make([]byte, FrameBytes)
	quiet := bytes.Repeat([]byte{Silence}, 3*FrameBytes)
	c.Say(bytes.Join([][]byte{voice, quiet, voice}, nil))
	for _, want := range []twiliotransport.Counter{0, 80} {
		m := readTwilio(t, ws).(*twiliotransport.Media)
		if m.Media.Timestamp != want {
			t.Fatalf("frame at %d ms, want %d", m.Media.Timestamp, want)
		}
	}
	if err := c.WaitSent(ctxT(t)); err != nil || c.Omitted() != 3 {
		t.Fatalf("omitted %d frames (%v), want 3", c.Omitted(), err)
	}
}
