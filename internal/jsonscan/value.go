package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// String returns the contents of a raw JSON string value without its quotes.
// ok is false when raw is not a string; escaped is true when the contents hold
// escape sequences, in which case the caller must decode them with Unquote.
func String(raw []byte) (contents []byte, escaped, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false, false
	}
	contents = raw[1 : len(raw)-1]
	return contents, firstSpecial(contents) != len(contents), true
}

// Unquote decodes a raw JSON string value, escapes included.
func Unquote(raw []byte) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// Int parses a raw JSON integer value. Twilio sends its counters as strings
// ("sequenceNumber":"12"), so a string holding an integer is accepted too.
func Int(raw []byte) (int64, bool) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	if len(raw) == 0 || len(raw) > 19 {
		return 0, false
	}
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
		if len(raw) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

// AppendString appends s to dst as a JSON string literal. It escapes only what JSON
// requires (quote, backslash, control characters) plus invalid UTF-8, which becomes
// U+FFFD as encoding/json would make it.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// AppendEscaped appends s escaped for use inside a JSON string literal, without the
// surrounding quotes.
func AppendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

const hexDigit = "0123456789abcdef"

// AppendInt appends the decimal form of n.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// base64Alphabet marks the bytes of the standard base64 alphabet.
var base64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = true
	}
	return t
}()

// Base64Len checks that b is padded standard base64 and returns the number of bytes
// it decodes to. Audio is relayed as base64 text without decoding; this check is what
// keeps a malformed payload from reaching the other peer.
func Base64Len(b []byte) (int, bool) {
	if len(b)%4 != 0 {
		return 0, false
	}
	pad := 0
	if n := len(b); n > 0 && b[n-1] == '=' {
		pad = 1
		if b[n-2] == '=' {
			pad = 2
		}
	}
	body := b[:len(b)-pad]
	// Unrolled by four: this loop runs over every audio byte relayed.
	i := 0
	for ; i+4 <= len(body); i += 4 {
		if !base64Alphabet[body[i]] || !base64Alphabet[body[i+1]] ||
			!base64Alphabet[body[i+2]] || !base64Alphabet[body[i+3]] {
			return 0, false
		}
	}
	for ; i < len(body); i++ {
		if !base64Alphabet[body[i]] {
			return 0, false
		}
	}
	return len(b)/4*3 - pad, true
}

// FoldsTo reports whether key equals one of names ignoring case without equalling it
// exactly. encoding/json matches struct fields case-insensitively, so a fast path that
// compares keys exactly must hand such a key to encoding/json to agree with it.
func FoldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if len(key) == len(n) && string(key) != n && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// Lookup validates data as one JSON object and returns the raw value of its member
// key (the last one, as encoding/json would use), or nil when there is none.
func Lookup(data []byte, key string) ([]byte, error) {
	var o Object
	o.Reset(data)
	var raw []byte
	for o.Next() {
		if o.KeyIs(key) {
			raw = o.Value()
		}
	}
	return raw, o.Err()
}

// AppendTagged appends v encoded by encoding/json as an object whose first member is
// key:name, the way both wire protocols tag their messages ("type", "event").
func AppendTagged(dst []byte, key, name string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	if len(body) < 2 || body[0] != '{' {
		return dst, errors.New("jsonscan: tagged value is not an object")
	}
	dst = append(dst, '{')
	dst = AppendString(dst, key)
	dst = append(dst, ':')
	dst = AppendString(dst, name)
	if len(body) > 2 {
		dst = append(dst, ',')
		dst = append(dst, body[1:]...)
	} else {
		dst = append(dst, '}')
	}
	return dst, nil
}

// MarshalText encodes text (already safe base64, say) as a JSON string; the
// MarshalJSON of the wire packages' raw-text types.
func MarshalText(text []byte) ([]byte, error) {
	return AppendString(make([]byte, 0, len(text)+2), string(text)), nil
}

// UnmarshalText decodes a JSON string into *dst; the UnmarshalJSON of the wire
// packages' raw-text types.
func UnmarshalText(dst *[]byte, data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*dst = []byte(s)
	return nil
}
