// Package jsonscan reads JSON objects without allocating, for the per-frame audio path.
//
// Both wire protocols callagent speaks (Twilio Media Streams and OpenAI Realtime) send
// small JSON objects whose one large member is a base64 audio string. Decoding those
// with encoding/json costs an allocation per string field and a byte-by-byte scan of
// the audio; this package instead iterates an object's members in place and hands
// out sub-slices of the input. It validates exactly what encoding/json's Valid does
// (a fuzz test holds the two together), so it can be trusted with network input.
//
// It is not a general JSON library: callers use it for the hot frames and fall back
// to encoding/json for everything else.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
)

// maxDepth matches encoding/json's nesting limit, so both accept the same inputs.
const maxDepth = 10000

// Errors reported by Object.Err.
var (
	ErrSyntax   = errors.New("jsonscan: invalid JSON")
	ErrNotObj   = errors.New("jsonscan: not a JSON object")
	ErrTooDeep  = errors.New("jsonscan: exceeded max nesting depth")
	errTrailing = errors.New("jsonscan: data after the top-level value")
)

// Object iterates over the members of one JSON object held in a byte slice.
// The zero value is not ready; call Reset. Key and Value alias the input.
type Object struct {
	data   []byte
	pos    int
	err    error
	key    []byte // between the quotes
	rawKey []byte // with the quotes
	value  []byte
	state  uint8 // 0 before '{', 1 inside, 2 done
	// keyEscaped reports whether the current key contains a backslash escape.
	keyEscaped bool
}

// Reset prepares o to iterate over the object in data.
func (o *Object) Reset(data []byte) {
	*o = Object{data: data}
}

// Err returns the first syntax error met, or nil once the whole input was valid.
func (o *Object) Err() error { return o.err }

// Key returns the current member's key as it appears between the quotes.
func (o *Object) Key() []byte { return o.key }

// Value returns the current member's raw JSON value.
func (o *Object) Value() []byte { return o.value }

// KeyEscaped reports whether the current key holds escape sequences, in which case
// comparing Key's bytes is not enough (KeyIs decodes them).
func (o *Object) KeyEscaped() bool { return o.keyEscaped }

// KeyIs reports whether the current key equals s, decoding escapes if the key has any.
func (o *Object) KeyIs(s string) bool {
	if !o.keyEscaped {
		return string(o.key) == s
	}
	var k string
	// The key was validated while scanning, so Unmarshal cannot fail here.
	_ = json.Unmarshal(o.rawKey, &k)
	return k == s
}

// Next advances to the next member. It returns false at the end of the object or on
// a syntax error (see Err). After the last member it also checks that nothing but
// white space follows the object.
func (o *Object) Next() bool {
	if o.err != nil || o.state == 2 {
		return false
	}
	d := o.data
	i := skipSpace(d, o.pos)
	if o.state == 0 {
		if i >= len(d) || d[i] != '{' {
			o.fail(ErrNotObj)
			return false
		}
		o.state = 1
		i = skipSpace(d, i+1)
		if i < len(d) && d[i] == '}' {
			return o.finish(i + 1)
		}
	} else {
		if i >= len(d) {
			o.fail(ErrSyntax)
			return false
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case '}':
			return o.finish(i + 1)
		default:
			o.fail(ErrSyntax)
			return false
		}
	}
	// A key.
	if i >= len(d) || d[i] != '"' {
		o.fail(ErrSyntax)
		return false
	}
	end, escaped, err := scanString(d, i)
	if err != nil {
		o.fail(err)
		return false
	}
	o.key = d[i+1 : end-1]
	o.rawKey = d[i:end]
	o.keyEscaped = escaped
	i = skipSpace(d, end)
	if i >= len(d) || d[i] != ':' {
		o.fail(ErrSyntax)
		return false
	}
	i = skipSpace(d, i+1)
	vend, err := skipValue(d, i, 1)
	if err != nil {
		o.fail(err)
		return false
	}
	o.value = d[i:vend]
	o.pos = vend
	return true
}

func (o *Object) finish(i int) bool {
	o.state = 2
	o.key, o.rawKey, o.value = nil, nil, nil
	if skipSpace(o.data, i) != len(o.data) {
		o.err = errTrailing
	}
	return false
}

func (o *Object) fail(err error) {
	o.err = err
	o.key, o.rawKey, o.value = nil, nil, nil
	o.state = 2
}

// Valid reports whether data is exactly one valid JSON object (white space around it
// allowed), draining the iterator. It exists for tests and fuzzing.
func Valid(data []byte) bool {
	var o Object
	o.Reset(data)
	for o.Next() {
	}
	return o.err == nil
}

func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue returns the index just past the JSON value starting at d[i].
func skipValue(d []byte, i, depth int) (int, error) {
	if i >= len(d) {
		return 0, ErrSyntax
	}
	switch c := d[i]; {
	case c == '"':
		end, _, err := scanString(d, i)
		return end, err
	case c == '{':
		return skipContainer(d, i, depth, '}')
	case c == '[':
		return skipContainer(d, i, depth, ']')
	case c == 't':
		return skipLiteral(d, i, "true")
	case c == 'f':
		return skipLiteral(d, i, "false")
	case c == 'n':
		return skipLiteral(d, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(d, i)
	}
	return 0, ErrSyntax
}

func skipLiteral(d []byte, i int, lit string) (int, error) {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return 0, ErrSyntax
	}
	return i + len(lit), nil
}

func skipContainer(d []byte, i, depth int, closer byte) (int, error) {
	if depth >= maxDepth {
		return 0, ErrTooDeep
	}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == closer {
		return i + 1, nil
	}
	for {
		if closer == '}' {
			if i >= len(d) || d[i] != '"' {
				return 0, ErrSyntax
			}
			end, _, err := scanString(d, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(d, end)
			if i >= len(d) || d[i] != ':' {
				return 0, ErrSyntax
			}
			i = skipSpace(d, i+1)
		}
		end, err := skipValue(d, i, depth+1)
		if err != nil {
			return 0, err
		}
		i = skipSpace(d, end)
		if i >= len(d) {
			return 0, ErrSyntax
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case closer:
			return i + 1, nil
		default:
			return 0, ErrSyntax
		}
	}
}

func scanNumber(d []byte, i int) (int, error) {
	if d[i] == '-' {
		i++
	}
	if i >= len(d) {
		return 0, ErrSyntax
	}
	switch {
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		return 0, ErrSyntax
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return 0, ErrSyntax
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return 0, ErrSyntax
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	return i, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

const (
	lo7  = 0x0101010101010101
	hi7  = 0x8080808080808080
	ctl  = 0x2020202020202020 // every byte 0x20: anything below is a control character
	bsla = 0x5c5c5c5c5c5c5c5c // every byte '\\'
)

// specialIn8 reports whether any byte of w is a control character or a backslash.
func specialIn8(w uint64) bool {
	// A byte b is below 0x20 when (b - 0x20) borrows into its top bit while b's top
	// bit is clear; a byte equals '\\' when w^bsla has a zero byte there.
	less := (w - ctl) & ^w & hi7
	x := w ^ bsla
	zero := (x - lo7) & ^x & hi7
	return less|zero != 0
}

// ASCII reports whether every byte of s is below 0x80. Fast paths use it to leave
// any non-ASCII text (and invalid UTF-8, which encoding/json rewrites) to encoding/json.
func ASCII(s []byte) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if binary.LittleEndian.Uint64(s[i:])&hi7 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// firstSpecial returns the index of the first control character or backslash in s,
// or len(s) when there is none. It looks at eight bytes at a time.
func firstSpecial(s []byte) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if specialIn8(binary.LittleEndian.Uint64(s[i:])) {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '\\' {
			return i
		}
	}
	return len(s)
}

// scanString returns the index just past the string literal starting at d[i] (a
// quote), and whether it contains escapes.
func scanString(d []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for {
		// Fast path: find the next quote, then check the run before it.
		q := bytes.IndexByte(d[j:], '"')
		if q < 0 {
			return 0, false, ErrSyntax
		}
		run := d[j : j+q]
		k := firstSpecial(run)
		if k == len(run) {
			return j + q + 1, escaped, nil
		}
		j += k
		if d[j] != '\\' {
			return 0, false, ErrSyntax // raw control character
		}
		escaped = true
		n, ok := escapeLen(d, j)
		if !ok {
			return 0, false, ErrSyntax
		}
		j += n
	}
}

// escapeLen returns the length of the escape sequence starting at d[j] (a backslash).
func escapeLen(d []byte, j int) (int, bool) {
	if j+1 >= len(d) {
		return 0, false
	}
	switch d[j+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		if j+6 > len(d) {
			return 0, false
		}
		for _, c := range d[j+2 : j+6] {
			if !isHex(c) {
				return 0, false
			}
		}
		return 6, true
	}
	return 0, false
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
