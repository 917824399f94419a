package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAV format codes.
const (
	formatPCM        = 1
	formatFloat      = 3
	formatALaw       = 6
	formatMulaw      = 7
	formatExtensible = 0xFFFE
)

// maxWAVBytes bounds what ReadWAV accepts: an hour of 48 kHz stereo 32-bit audio.
const maxWAVBytes = 48000 * 2 * 4 * 3600

// Sound is decoded audio: 16-bit samples, one channel, at Rate Hz.
type Sound struct {
	Rate    int
	Samples []int16
}

// DurationMs is the length of the sound in milliseconds.
func (s Sound) DurationMs() int {
	if s.Rate == 0 {
		return 0
	}
	return len(s.Samples) * 1000 / s.Rate
}

// ReadWAV decodes a WAV file: PCM (8, 16, 24 or 32 bits), 32-bit float or μ-law, any
// rate, any number of channels (mixed down to mono). Damaged files return an error
// that says what is wrong; nothing in them can make it panic or allocate more than the
// file holds.
func ReadWAV(data []byte) (Sound, error) {
	rate, chans, err := ReadWAVChannels(data)
	if err != nil {
		return Sound{}, err
	}
	out := make([]int16, len(chans[0]))
	for i := range out {
		sum := 0
		for _, c := range chans {
			sum += int(c[i])
		}
		out[i] = int16(sum / len(chans))
	}
	return Sound{Rate: rate, Samples: out}, nil
}

// ReadWAVChannels decodes a WAV file like ReadWAV but keeps its channels apart.
func ReadWAVChannels(data []byte) (rate int, channelSamples [][]int16, err error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return 0, nil, errors.New("not a WAV file (no RIFF/WAVE header)")
	}
	if len(data) > maxWAVBytes {
		return 0, nil, fmt.Errorf("WAV file too large (%d bytes)", len(data))
	}
	var (
		format, channels, bits int
		haveFmt                bool
		pcm                    []byte
	)
	for p := 12; p+8 <= len(data); {
		id := string(data[p : p+4])
		size := int(binary.LittleEndian.Uint32(data[p+4:]))
		body := data[p+8:]
		if size > len(body) {
			if id != "data" {
				return 0, nil, fmt.Errorf("WAV chunk %q is cut short", id)
			}
			size = len(body) // a data chunk written before its length was known
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return 0, nil, errors.New("WAV fmt chunk is too short")
			}
			format = int(binary.LittleEndian.Uint16(body[0:]))
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
			if format == formatExtensible {
				if size < 40 {
					return 0, nil, errors.New("WAV extensible fmt chunk is too short")
				}
				format = int(binary.LittleEndian.Uint16(body[24:])) // the subformat GUID's first two bytes
			}
			haveFmt = true
		case "data":
			pcm = body
		}
		p += 8 + size + size&1 // chunks are padded to even sizes
	}
	switch {
	case !haveFmt:
		return 0, nil, errors.New("WAV file has no fmt chunk")
	case pcm == nil:
		return 0, nil, errors.New("WAV file has no data chunk")
	case channels < 1 || channels > 8:
		return 0, nil, fmt.Errorf("WAV file has %d channels", channels)
	case rate < 4000 || rate > 192000:
		return 0, nil, fmt.Errorf("WAV sample rate %d Hz is not supported (4 kHz to 192 kHz)", rate)
	}
	decode, width, err := sampleDecoder(format, bits)
	if err != nil {
		return 0, nil, err
	}
	frame := width * channels
	n := len(pcm) / frame
	channelSamples = make([][]int16, channels)
	for c := range channelSamples {
		channelSamples[c] = make([]int16, n)
	}
	for i := range n {
		for c := range channels {
			channelSamples[c][i] = decode(pcm[i*frame+c*width:])
		}
	}
	return rate, channelSamples, nil
}

// sampleDecoder returns how to read one sample of a format, and its width in bytes.
func sampleDecoder(format, bits int) (func([]byte) int16, int, error) {
	switch {
	case format == formatPCM && bits == 8:
		return func(b []byte) int16 { return int16(int(b[0])-128) << 8 }, 1, nil
	case format == formatPCM && bits == 16:
		return func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) }, 2, nil
	case format == formatPCM && bits == 24:
		return func(b []byte) int16 { return int16(uint16(b[1]) | uint16(b[2])<<8) }, 3, nil
	case format == formatPCM && bits == 32:
		return func(b []byte) int16 { return int16(binary.LittleEndian.Uint32(b) >> 16) }, 4, nil
	case format == formatFloat && bits == 32:
		return func(b []byte) int16 {
			f := math.Float32frombits(binary.LittleEndian.Uint32(b))
			if f != f { // NaN
				return 0
			}
			return int16(max(-1, min(1, f)) * 32767)
		}, 4, nil
	case format == formatMulaw && bits == 8:
		return func(b []byte) int16 { return ulawToLinear[b[0]] }, 1, nil
	}
	return nil, 0, fmt.Errorf("WAV encoding (format %d, %d bits) is not supported: use PCM, 32-bit float or μ-law", format, bits)
}

// WriteStereoWAV writes two channels of 16-bit PCM at rate: left and right, padded
// with silence to the longer one.
func WriteStereoWAV(w io.Writer, rate int, left, right []int16) error {
	n := max(len(left), len(right))
	out := wavHeader(rate, 2, n)
	for i := range n {
		var l, r int16
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(l))
		out = binary.LittleEndian.AppendUint16(out, uint16(r))
	}
	_, err := w.Write(out)
	return err
}

// WriteMonoWAV writes 16-bit PCM mono at rate.
func WriteMonoWAV(w io.Writer, rate int, samples []int16) error {
	out := wavHeader(rate, 1, len(samples))
	for _, s := range samples {
		out = binary.LittleEndian.AppendUint16(out, uint16(s))
	}
	_, err := w.Write(out)
	return err
}

// wavHeader returns the 44-byte header of a 16-bit PCM file of frames frames, with
// room for the samples.
func wavHeader(rate, channels, frames int) []byte {
	size := frames * channels * 2
	b := make([]byte, 0, 44+size)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+size))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, formatPCM)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*2))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*2))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	return binary.LittleEndian.AppendUint32(b, uint32(size))
}
