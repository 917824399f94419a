package session

import (
	"bytes"
	"encoding/base64"
	"testing"
)

func TestSilenceIsExact(t *testing.T) {
	for _, ms := range []int64{1, 2, 3, 20, 460, 1999, 2000} {
		got, err := base64.StdEncoding.DecodeString(string(silence(ms)))
		if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{0xFF}, int(ms)*8)) {
			t.Fatalf("silence(%d): %d bytes, %v", ms, len(got), err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = silence(460) }); n != 0 {
		t.Fatalf("silence allocates %v times", n)
	}
}
