package offlinecall

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callagent/callagent/internal/atomicfile"
	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/realtime"
)

// OpenAISpeech gives the simulated caller a real voice: it synthesizes the
// scenario's say: lines with OpenAI's speech endpoint (POST BASE/audio/speech,
// 24 kHz 16-bit PCM), so the real Realtime model hears and transcribes speech.
type OpenAISpeech struct {
	BaseURL string // as OPENAI_BASE_URL (default realtime.DefaultBaseURL)
	APIKey  string
	Model   string // default DefaultSpeechModel
	Voice   string // default DefaultCallerVoice
	// Instructions say how the caller sounds ("a hurried caller on a noisy street").
	Instructions string
	Client       *http.Client // default: one with a 60 s timeout
	// CacheDir, when set, keeps each line's audio, so a scenario run again costs
	// nothing and sounds the same.
	CacheDir string
}

// The speech endpoint's defaults.
const (
	DefaultSpeechModel = "gpt-4o-mini-tts"
	DefaultCallerVoice = "ash"
	speechRate         = 24000 // Hz of the endpoint's pcm format
	maxSpeechBytes     = 32 << 20
)

// Speak returns text spoken in the caller's voice as 8 kHz μ-law.
func (s *OpenAISpeech) Speak(ctx context.Context, text string) ([]byte, error) {
	model, voice := firstOf(s.Model, DefaultSpeechModel), firstOf(s.Voice, DefaultCallerVoice)
	var cache string
	if s.CacheDir != "" {
		sum := sha256.Sum256([]byte(model + "\x00" + voice + "\x00" + s.Instructions + "\x00" + text))
		cache = filepath.Join(s.CacheDir, hex.EncodeToString(sum[:16])+".ulaw")
		if data, err := os.ReadFile(cache); err == nil && len(data) > 0 {
			return data, nil
		}
	}
	pcm, err := s.synthesize(ctx, model, voice, text)
	if err != nil {
		return nil, fmt.Errorf("speaking %q: %w", shorten(text, 40), err)
	}
	samples := make([]int16, len(pcm)/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	ulaw := audio.ToMulaw8k(audio.Sound{Rate: speechRate, Samples: samples})
	if cache != "" {
		// A cache that cannot be written only costs the next run a request.
		_ = atomicfile.WriteBytes(cache, 0o700, ulaw)
	}
	return ulaw, nil
}

func (s *OpenAISpeech) synthesize(ctx context.Context, model, voice, text string) ([]byte, error) {
	body, _ := json.Marshal(struct {
		Model          string `json:"model"`
		Input          string `json:"input"`
		Voice          string `json:"voice"`
		Instructions   string `json:"instructions,omitempty"`
		ResponseFormat string `json:"response_format"`
	}{model, text, voice, s.Instructions, "pcm"})
	endpoint := strings.TrimRight(firstOf(s.BaseURL, realtime.DefaultBaseURL), "/") + "/audio/speech"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	req.Header.Set("Content-Type", "application/json")
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err // the URL says nothing the user does not know
		}
		return nil, fmt.Errorf("the speech endpoint: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSpeechBytes+1))
	if err != nil {
		return nil, fmt.Errorf("the speech endpoint: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the speech endpoint answered HTTP %d: %s", resp.StatusCode, s.scrub(apiMessage(data)))
	}
	if len(data) > maxSpeechBytes {
		return nil, fmt.Errorf("the speech endpoint sent more than %d MB of audio", maxSpeechBytes>>20)
	}
	if len(data) < 2 {
		return nil, errors.New("the speech endpoint sent no audio")
	}
	return data, nil
}

// apiMessage is the message of an OpenAI error body, or the start of the body.
func apiMessage(data []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return shorten(strings.TrimSpace(string(data)), 200)
}

// scrub removes the key from a message, should an endpoint echo it.
func (s *OpenAISpeech) scrub(msg string) string {
	if len(s.APIKey) >= 8 {
		msg = strings.ReplaceAll(msg, s.APIKey, "[redacted]")
	}
	return msg
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
