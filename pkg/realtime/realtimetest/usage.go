package realtimetest

import (
	"github.com/callagent/callagent/pkg/realtime"
)

// The twin bills like the API, in the shape of RealtimeResponseUsage. Audio is
// tokenised at the rates OpenAI documents for the Realtime models (the house's
// PROTOCOL.md, "Usage"): about one token per 100 ms of caller audio and one per
// 50 ms of assistant audio; text at about four characters a token. Each response's
// input is the whole conversation so far (instructions, the caller's audio, what
// the assistant said, the client's text items), and the input of the previous
// response is a cached prefix of it, as the API's prompt caching makes it.
const (
	msPerInputAudioToken  = 100
	msPerOutputAudioToken = 50
	charsPerTextToken     = 4
)

// billing is what the twin has billed a connection so far. Guarded by ModelConn.mu.
type billing struct {
	textItems    int // characters of text the client added to the conversation
	outAudioToks int // assistant audio produced so far, in tokens
	outTextToks  int // assistant text (transcripts, tool arguments) so far, in tokens
	prevTextIn   int // the previous response's input, the cached prefix of the next
	prevAudioIn  int
}

func textTokens(chars int) int { return (chars + charsPerTextToken - 1) / charsPerTextToken }

// usage bills a response whose output is output, with audio as the bytes of
// μ-law (8 bytes a millisecond) each item streamed. Caller holds c.mu.
func (c *ModelConn) usage(output []realtime.Item) *realtime.Usage {
	instr, _ := lookup(c.sess, "instructions").(string)
	textIn := textTokens(len(instr)) + textTokens(c.bill.textItems) + c.bill.outTextToks
	audioIn := c.audioBytes/8/msPerInputAudioToken + c.bill.outAudioToks
	audioOut, textOut := 0, 0
	for _, it := range output {
		if a := c.items[it.ID]; a != nil {
			audioOut += a.bytes / 8 / msPerOutputAudioToken
		}
		for _, p := range it.Content {
			textOut += textTokens(len(p.Transcript))
		}
		textOut += textTokens(len(it.Arguments))
	}
	cachedText, cachedAudio := min(c.bill.prevTextIn, textIn), min(c.bill.prevAudioIn, audioIn)
	c.bill.prevTextIn, c.bill.prevAudioIn = textIn, audioIn
	c.bill.outAudioToks += audioOut
	c.bill.outTextToks += textOut
	in, out := textIn+audioIn, textOut+audioOut
	return &realtime.Usage{TotalTokens: in + out, InputTokens: in, OutputTokens: out,
		InputTokenDetails: &realtime.InputTokenDetails{TextTokens: textIn, AudioTokens: audioIn,
			CachedTokens:        cachedText + cachedAudio,
			CachedTokensDetails: &realtime.CachedTokenDetails{TextTokens: cachedText, AudioTokens: cachedAudio}},
		OutputTokenDetails: &realtime.OutputTokenDetails{TextTokens: textOut, AudioTokens: audioOut}}
}

// transcriptionUsage bills the transcription of ms of caller audio as the
// session's transcription model does: by duration for the whisper models, else by
// tokens (TranscriptTextUsageTokens: audio in, the transcript out). Caller holds c.mu.
func (c *ModelConn) transcriptionUsage(ms int, transcript string) *realtime.TranscriptionUsage {
	model, _ := lookup(c.sess, "audio.input.transcription.model").(string)
	if model == "whisper-1" || model == "gpt-realtime-whisper" {
		return &realtime.TranscriptionUsage{Type: realtime.UsageDuration, Seconds: float64(max(ms, 1)) / 1000}
	}
	audio := max(ms/msPerInputAudioToken, 1)
	out := textTokens(len(transcript))
	return &realtime.TranscriptionUsage{Type: realtime.UsageTokens, InputTokens: audio, OutputTokens: out, TotalTokens: audio + out,
		InputTokenDetails: &realtime.TranscriptionInputTokenDetails{AudioTokens: audio}}
}
