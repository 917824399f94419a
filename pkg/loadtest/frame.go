package loadtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// frameBytes is one 20 ms frame of μ-law: the unit both sides send.
const frameBytes = 160

// A marked frame carries who sent it and where it belongs, so whoever receives it
// can time it against its sending and check it arrived whole, whatever the relay
// did to the stream's chunking (a relay may split, merge or pad with silence):
//
//	0..3    magic "LTfr"
//	4       direction: 'C' caller speech, 'A' agent audio
//	5       target index
//	6..7    call index
//	8..11   serial: the frame's number in its call and direction
//	12..13  turn: the caller's utterance or the model's response
//	14..15  index of the frame in its turn
//	16      flags: flagLast on the turn's last frame
//	17..155 filler, bytes 0x80..0xFE (never silence, never the magic's)
//	156..159 CRC-32 (IEEE) of bytes 0..155
//
// The receiver finds frames by the magic; a frame whose CRC fails is damaged, a
// frame never found is lost.
var magic = [4]byte{'L', 'T', 'f', 'r'}

const (
	dirCaller = 'C'
	dirAgent  = 'A'
	flagLast  = 1
)

type frameID struct {
	dir    byte
	target uint8
	call   uint16
	serial uint32
	turn   uint16
	index  uint16
	last   bool
}

// putFrame writes the marked frame id into b (frameBytes long).
func putFrame(b []byte, id frameID) {
	copy(b, magic[:])
	b[4], b[5] = id.dir, id.target
	binary.BigEndian.PutUint16(b[6:], id.call)
	binary.BigEndian.PutUint32(b[8:], id.serial)
	binary.BigEndian.PutUint16(b[12:], id.turn)
	binary.BigEndian.PutUint16(b[14:], id.index)
	b[16] = 0
	if id.last {
		b[16] = flagLast
	}
	for i := 17; i < frameBytes-4; i++ {
		b[i] = 0x80 + byte((uint32(i)*7+id.serial*13)%0x7F)
	}
	binary.BigEndian.PutUint32(b[frameBytes-4:], crc32.ChecksumIEEE(b[:frameBytes-4]))
}

func readFrame(b []byte) (frameID, bool) {
	id := frameID{dir: b[4], target: b[5], call: binary.BigEndian.Uint16(b[6:]), serial: binary.BigEndian.Uint32(b[8:]),
		turn: binary.BigEndian.Uint16(b[12:]), index: binary.BigEndian.Uint16(b[14:]), last: b[16]&flagLast != 0}
	ok := crc32.ChecksumIEEE(b[:frameBytes-4]) == binary.BigEndian.Uint32(b[frameBytes-4:])
	return id, ok
}

// scanner finds marked frames in a stream of audio however it is cut.
type scanner struct {
	buf  []byte
	base int64 // stream offset of buf[0]
}

// feed adds audio and calls found for each whole frame in it, with the frame's
// offset in the stream: ok false for a frame whose check fails (its id is then not
// to be trusted).
func (s *scanner) feed(audio []byte, found func(id frameID, ok bool, off int64)) {
	s.buf = append(s.buf, audio...)
	i := 0
	for {
		j := bytes.Index(s.buf[i:], magic[:])
		if j < 0 {
			i = max(i, len(s.buf)-len(magic)+1)
			break
		}
		j += i
		if len(s.buf)-j < frameBytes {
			i = j
			break
		}
		id, ok := readFrame(s.buf[j : j+frameBytes])
		found(id, ok, s.base+int64(j))
		if ok {
			i = j + frameBytes
		} else {
			i = j + len(magic)
		}
	}
	s.base += int64(i)
	n := copy(s.buf, s.buf[i:])
	s.buf = s.buf[:n]
}
