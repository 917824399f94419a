package audio

import (
	"encoding/binary"
	"os"
	"testing"
)

// The reference tables were produced by CPython's audioop (ulaw2lin, lin2ulaw), an
// independent implementation of G.711.
func TestMulawDecodeAll256(t *testing.T) {
	ref, err := os.ReadFile("testdata/g711_ulaw_decode.bin")
	if err != nil {
		t.Fatal(err)
	}
	for code := range 256 {
		want := int16(binary.LittleEndian.Uint16(ref[2*code:]))
		if got := MulawToLinear(byte(code)); got != want {
			t.Errorf("decode 0x%02x = %d, want %d", code, got, want)
		}
	}
}

func TestMulawEncodeEverySample(t *testing.T) {
	ref, err := os.ReadFile("testdata/g711_ulaw_encode.bin")
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := range 65536 {
		s := int16(i - 32768)
		if got := LinearToMulaw(s); got != ref[i] {
			if bad++; bad < 10 {
				t.Errorf("encode %d = 0x%02x, want 0x%02x", s, got, ref[i])
			}
		}
	}
	// Every code survives a round trip (0x7f, negative zero, decodes to 0 and encodes as 0xff).
	for code := range 256 {
		if c := LinearToMulaw(MulawToLinear(byte(code))); c != byte(code) && code != 0x7f {
			t.Errorf("round trip of 0x%02x gives 0x%02x", code, c)
		}
	}
}
