package offlinecall

import (
	"bytes"
	"testing"
)

func TestSpeechRoundTrip(t *testing.T) {
	for _, v := range []Voice{CallerVoice, AgentVoice} {
		for _, text := range []string{"What's the weather in Paris?", "", "é ü 😀 \x00\xff"} {
			got, ok := Transcribe(v.Speak(text))
			if !ok || got != text {
				t.Errorf("voice %d: %q came back as %q (%v)", v.key, text, got, ok)
			}
		}
	}
	// Utterances with silence and another voice around them are all read back.
	mixed := append(append(append(bytes.Repeat([]byte{0xff}, 800), CallerVoice.Speak("hello")...), bytes.Repeat([]byte{0xff}, 333)...), AgentVoice.Speak("hi")...)
	if got, ok := Transcribe(mixed); !ok || (got != "hello hi" && got != "hi hello") {
		t.Fatalf("mixed = %q", got)
	}
	if _, ok := Transcribe(bytes.Repeat([]byte{0x10, 0x90}, 4000)); ok {
		t.Fatal("noise read as speech")
	}
}

func TestSpeechWavesAreDistinct(t *testing.T) {
	for key, c := range codecs {
		if len(c.index) != 256 {
			t.Fatalf("voice %d: %d distinct waveforms for 256 bytes", key, len(c.index))
		}
	}
	if bytes.Equal(CallerVoice.Speak("x")[:charSamples], AgentVoice.Speak("x")[:charSamples]) {
		t.Fatal("the voices share their start marker")
	}
}

func TestVAD(t *testing.T) {
	v := newVAD(200)
	audio := append(append(bytes.Repeat([]byte{0xff}, 1600), CallerVoice.Speak("some words here")...), bytes.Repeat([]byte{0xff}, 4000)...)
	var starts, stops []int
	for pos := 0; pos+vadFrame <= len(audio); pos += vadFrame {
		s, e := v.feed(audio[pos:pos+vadFrame], pos)
		if s {
			starts = append(starts, pos)
		}
		if e {
			stops = append(stops, pos)
		}
	}
	if len(starts) != 1 || len(stops) != 1 {
		t.Fatalf("starts %v stops %v: want one utterance", starts, stops)
	}
	speechEnd := 1600 + len(CallerVoice.Speak("some words here"))
	if starts[0] < 1600 || starts[0] > 1600+3*vadFrame || stops[0] < speechEnd || stops[0] > speechEnd+200*8+2*vadFrame {
		t.Fatalf("speech at %d..%d detected at %d..%d", 1600, speechEnd, starts[0], stops[0])
	}
}
