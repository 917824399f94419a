package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// wavBytes builds a WAV file by hand, independently of the writer.
func wavBytes(format, channels, rate, bits int, data []byte, extra ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(0)) // patched below
	b.WriteString("WAVE")
	for _, e := range extra {
		b.Write(e)
	}
	b.WriteString("fmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(format))
	binary.Write(&b, binary.LittleEndian, uint16(channels))
	binary.Write(&b, binary.LittleEndian, uint32(rate))
	binary.Write(&b, binary.LittleEndian, uint32(rate*channels*bits/8))
	binary.Write(&b, binary.LittleEndian, uint16(channels*bits/8))
	binary.Write(&b, binary.LittleEndian, uint16(bits))
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	out := b.Bytes()
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

func le16(samples ...int16) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, samples)
	return b.Bytes()
}

func TestReadWAVFormats(t *testing.T) {
	listChunk := append([]byte("LIST"), 3, 0, 0, 0, 'a', 'b', 'c', 0) // odd size: padded
	tests := []struct {
		name string
		file []byte
		rate int
		want []int16
	}{
		{"pcm16 mono", wavBytes(1, 1, 16000, 16, le16(100, -200, 32767)), 16000, []int16{100, -200, 32767}},
		{"pcm16 stereo mixed down", wavBytes(1, 2, 8000, 16, le16(100, 300, -100, -300)), 8000, []int16{200, -200}},
		{"pcm8", wavBytes(1, 1, 8000, 8, []byte{128, 255, 0}), 8000, []int16{0, 127 << 8, -128 << 8}},
		{"pcm24", wavBytes(1, 1, 48000, 24, []byte{0xff, 0x34, 0x12, 0x00, 0x00, 0x80}), 48000, []int16{0x1234, -32768}},
		{"pcm32", wavBytes(1, 1, 44100, 32, []byte{0, 0, 0x34, 0x12}), 44100, []int16{0x1234}},
		{"float32", wavBytes(3, 1, 24000, 32, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil,
			math.Float32bits(0.5)), math.Float32bits(-2))), 24000, []int16{16383, -32767}},
		{"mulaw", wavBytes(7, 1, 8000, 8, []byte{0xff, 0x80, 0x00}), 8000, []int16{0, 32124, -32124}},
		{"with a padded chunk before fmt", wavBytes(1, 1, 8000, 16, le16(7), listChunk), 8000, []int16{7}},
	}
	for _, tt := range tests {
		s, err := ReadWAV(tt.file)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if s.Rate != tt.rate || len(s.Samples) != len(tt.want) {
			t.Errorf("%s: rate %d, %d samples", tt.name, s.Rate, len(s.Samples))
			continue
		}
		for i := range tt.want {
			if s.Samples[i] != tt.want[i] {
				t.Errorf("%s: sample %d = %d, want %d", tt.name, i, s.Samples[i], tt.want[i])
			}
		}
	}
}

func TestReadWAVErrors(t *testing.T) {
	good := wavBytes(1, 1, 8000, 16, le16(1, 2))
	tests := map[string][]byte{
		"not a WAV":          []byte("hello world, not audio"),
		"no fmt":             append([]byte("RIFF\x00\x00\x00\x00WAVE"), []byte("data\x02\x00\x00\x00ab")...),
		"unsupported format": wavBytes(2, 1, 8000, 4, []byte{1, 2}),
		"bad rate":           wavBytes(1, 1, 100, 16, le16(1)),
		"no channels":        wavBytes(1, 0, 8000, 16, le16(1)),
		"fmt cut short":      good[:30],
	}
	for name, data := range tests {
		if _, err := ReadWAV(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A data chunk whose length was never filled in is read up to the end.
	cut := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(cut[40:], 0xFFFFFFFF)
	if s, err := ReadWAV(cut); err != nil || len(s.Samples) != 2 {
		t.Fatalf("open-ended data chunk: %v %v", s, err)
	}
}

func TestWriteStereoWAVRoundTrip(t *testing.T) {
	var b bytes.Buffer
	left, right := []int16{1, 2, 3}, []int16{-1}
	if err := WriteStereoWAV(&b, 8000, left, right); err != nil {
		t.Fatal(err)
	}
	rate, ch, err := ReadWAVChannels(b.Bytes())
	if err != nil || rate != 8000 || len(ch) != 2 {
		t.Fatalf("%d %d %v", rate, len(ch), err)
	}
	if ch[0][2] != 3 || ch[1][0] != -1 || ch[1][2] != 0 || len(ch[1]) != 3 {
		t.Fatalf("channels %v", ch)
	}
}

func FuzzReadWAV(f *testing.F) {
	f.Add(wavBytes(1, 1, 8000, 16, le16(1, 2, 3)))
	f.Add(wavBytes(7, 2, 8000, 8, []byte{1, 2, 3, 4}))
	f.Add(wavBytes(3, 1, 48000, 32, make([]byte, 8)))
	f.Add([]byte("RIFF\x04\x00\x00\x00WAVEfmt \xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rate, ch, err := ReadWAVChannels(data)
		if err != nil {
			return
		}
		total := 0
		for _, c := range ch {
			total += len(c)
		}
		if rate < 4000 || len(ch) == 0 || total > len(data) {
			t.Fatalf("rate %d, %d channels, %d samples from %d bytes", rate, len(ch), total, len(data))
		}
	})
}
