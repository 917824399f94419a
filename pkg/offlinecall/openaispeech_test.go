package offlinecall

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/callevent"
)

const testKey = "sk-test-0123456789abcdef"

// fakeSpeech is OpenAI's speech endpoint: it checks the request and answers 24 kHz
// 16-bit PCM, 100 ms of a 440 Hz tone per character of the input.
type fakeSpeech struct {
	mu     sync.Mutex
	inputs []string
	status int    // when not 200
	answer string // the error body
}

func (f *fakeSpeech) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model, Input, Voice, Instructions string
		ResponseFormat                    string `json:"response_format"`
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/audio/speech" || r.Header.Get("Authorization") != "Bearer "+testKey ||
		json.Unmarshal(body, &req) != nil || req.ResponseFormat != "pcm" || req.Model != DefaultSpeechModel || req.Voice == "" || req.Input == "" {
		http.Error(w, "unexpected request: "+string(body), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.inputs = append(f.inputs, req.Voice+": "+req.Input)
	status, answer := f.status, f.answer
	f.mu.Unlock()
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
		return
	}
	n := 2400 * len([]rune(req.Input))
	pcm := make([]byte, 2*n)
	for i := range n {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(8000*math.Sin(2*math.Pi*440*float64(i)/24000))))
	}
	w.Header().Set("Content-Type", "audio/pcm")
	w.Write(pcm)
}

func (f *fakeSpeech) said() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.inputs...)
}

func TestOpenAISpeech(t *testing.T) {
	fake := &fakeSpeech{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cache := t.TempDir()
	s := &OpenAISpeech{BaseURL: srv.URL + "/v1", APIKey: testKey, CacheDir: cache}
	ctx := context.Background()
	got, err := s.Speak(ctx, "Hello")
	if err != nil {
		t.Fatal(err)
	}
	// 5 characters: 500 ms at 8 kHz, one byte per sample.
	if len(got) != 4000 {
		t.Fatalf("%d bytes of μ-law, want 4000 (500 ms)", len(got))
	}
	var energy float64
	for _, b := range got[400:3600] {
		v := float64(audio.MulawToLinear(b))
		energy += v * v
	}
	if rms := math.Sqrt(energy / 3200); rms < 4000 || rms > 7000 {
		t.Errorf("RMS %.0f, want the tone's ~5657", rms)
	}
	// Again: from the cache, with no request.
	again, err := s.Speak(ctx, "Hello")
	if err != nil || !bytes.Equal(again, got) {
		t.Fatalf("cached: %v, equal %v", err, bytes.Equal(again, got))
	}
	if said := fake.said(); len(said) != 1 || said[0] != DefaultCallerVoice+": Hello" {
		t.Fatalf("requests %q", said)
	}
	// Another voice is another line.
	s.Voice = "coral"
	if _, err := s.Speak(ctx, "Hello"); err != nil || len(fake.said()) != 2 {
		t.Fatalf("another voice: %v, requests %q", err, fake.said())
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 2 {
		t.Errorf("%d cache files, want 2", len(entries))
	}
}

// A refused request says why, without the key even when the endpoint echoes it.
func TestOpenAISpeechErrors(t *testing.T) {
	fake := &fakeSpeech{status: http.StatusUnauthorized,
		answer: `{"error":{"message":"Incorrect API key provided: ` + testKey + `.","type":"invalid_request_error"}}`}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	s := &OpenAISpeech{BaseURL: srv.URL + "/v1/", APIKey: testKey}
	_, err := s.Speak(context.Background(), "Hello")
	if err == nil || !strings.Contains(err.Error(), `speaking "Hello": the speech endpoint answered HTTP 401: Incorrect API key provided: [redacted].`) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Fatal("the error shows the key")
	}
	fake.status, fake.answer = http.StatusBadGateway, "<html>bad gateway</html>"
	if _, err := s.Speak(context.Background(), "Hello"); err == nil || !strings.Contains(err.Error(), "HTTP 502: <html>bad gateway</html>") {
		t.Fatalf("err = %v", err)
	}
	srv.Close()
	if _, err := s.Speak(context.Background(), "Hello"); err == nil || strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("endpoint down: %v", err)
	}
}

// With the real model, the caller's lines are synthesized before the call and sent
// as they were synthesized; a line that cannot be synthesized stops the simulation
// before anyone dials.
func TestRealModelCallerSpeaks(t *testing.T) {
	leakcheck.Check(t)
	fake := &fakeSpeech{}
	brain := (&Brain{}).Model()
	brain.APIKey = testKey
	defer brain.Close()
	mux := http.NewServeMux()
	mux.Handle("/v1/audio/speech", fake)
	mux.Handle("/v1/realtime", brain)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	speech := &OpenAISpeech{BaseURL: srv.URL + "/v1", APIKey: testKey}
	sc := &Scenario{Name: "tts", Turns: []Turn{{Say: "Hi there."}, {Hangup: true}}}
	opts := Options{Scenario: sc, CallerSpeech: speech.Speak}
	opts.OpenAI.APIKey, opts.OpenAI.BaseURL = testKey, srv.URL+"/v1"
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("events:\n%s", kinds(res.Events))
	if said := fake.said(); len(said) != 1 || said[0] != DefaultCallerVoice+": Hi there." {
		t.Fatalf("synthesized %q", said)
	}
	line, err := speech.Speak(context.Background(), "Hi there.")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(res.CallerAudio, line) {
		t.Errorf("the caller's %d bytes do not contain the synthesized line (%d bytes)", len(res.CallerAudio), len(line))
	}
	if res.Ended.Reason != callevent.EndCallerHangup {
		t.Errorf("ended %s (%v)", res.Ended.Reason, res.Ended.Err)
	}

	fake.status, fake.answer = http.StatusTooManyRequests, `{"error":{"message":"Rate limit reached."}}`
	_, err = Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), `tts, turn 1: speaking "Hi there.": the speech endpoint answered HTTP 429: Rate limit reached.`) {
		t.Fatalf("err = %v", err)
	}
}
