// Package eventrecord records each distinct shape of the events a protocol twin
// exchanges, for scripts/conformance, which type-checks them against OpenAI's
// published TypeScript types: the Realtime twin (pkg/realtime/realtimetest, files
// events-PID.jsonl) and the Live twin (pkg/live/livetest, live-events-PID.jsonl).
package eventrecord

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// DirEnv names the environment variable that turns on recording: when it holds a
// directory, a Recorder appends each distinct shape of client event received and
// server event sent to DIR/PREFIX-PID.jsonl. Unset, recording costs one nil check
// per event.
const DirEnv = "CALLAGENT_CONFORMANCE_DIR"

// SIPPrefix names the record files of the SIP side, which both twins and the
// webhook-endpoints fake share (sip-PID.jsonl): webhooks sent and call-control and
// endpoint requests received, each recorded with its kind in place of a direction.
const SIPPrefix = "sip"

// FromEnv returns the process's recorder for the file prefix ("live-events"), nil
// when DirEnv is unset. Call it when the first twin starts, not at init: go test
// then knows the tests read the variable, and a new directory is a new run, not a
// cached one. Calls with one prefix return one recorder.
func FromEnv(prefix string) *Recorder {
	mu.Lock()
	defer mu.Unlock()
	if r, ok := recorders[prefix]; ok {
		return r
	}
	r := New(os.Getenv(DirEnv), prefix)
	recorders[prefix] = r
	return r
}

var (
	mu        sync.Mutex
	recorders = map[string]*Recorder{}
)

// Recorder writes one JSON line per event shape not seen before in this process:
// {"dir":"client"|"server","shape":KEY,"event":EVENT}.
type Recorder struct {
	path string
	mu   sync.Mutex
	seen map[string]bool
	// skeletons are frames already recorded or matched, with digits and long
	// strings elided: most frames (audio) are answered here without decoding.
	skeletons map[string]bool
	buf       []byte
	f         *os.File // opened on first use, never closed: it lives as long as the process
	err       error
}

// New returns a recorder writing DIR/PREFIX-PID.jsonl, nil when dir is "".
func New(dir, prefix string) *Recorder {
	if dir == "" {
		return nil
	}
	return &Recorder{path: filepath.Join(dir, fmt.Sprintf("%s-%d.jsonl", prefix, os.Getpid())),
		seen: map[string]bool{}, skeletons: map[string]bool{}}
}

// Record adds one frame; dir is "client" or "server". Frames that are not JSON objects are not events and are
// left to the tests that send them. Errors writing are kept quiet: recording must
// not change what a test sees; a missing file fails the check instead.
func (r *Recorder) Record(dir string, frame []byte) {
	r.mu.Lock()
	r.buf = skeleton(append(r.buf[:0], dir...), frame)
	known := r.skeletons[string(r.buf)]
	if !known && len(r.skeletons) < 1<<16 {
		r.skeletons[string(r.buf)] = true
	}
	r.mu.Unlock()
	if known {
		return
	}
	var ev map[string]any
	if json.Unmarshal(frame, &ev) != nil {
		return
	}
	typ, _ := ev["type"].(string)
	var keys []string
	shape(&keys, "", ev)
	slices.Sort(keys)
	key := dir + " " + typ + " " + strings.Join(slices.Compact(keys), ",")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[key] || r.err != nil {
		return
	}
	r.seen[key] = true
	line, err := json.Marshal(struct {
		Dir   string         `json:"dir"`
		Shape string         `json:"shape"`
		Event map[string]any `json:"event"`
	}{dir, key, truncateStrings("", ev).(map[string]any)})
	if err != nil {
		return
	}
	if r.f == nil {
		if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
			r.err = err
			return
		}
		if r.f, r.err = os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); r.err != nil {
			return
		}
	}
	_, r.err = r.f.Write(append(line, '\n'))
}

// enumKeys are members whose string values are part of an event's shape: OpenAI's
// types restrict them to a set of literals, so each value is checked once.
var enumKeys = map[string]bool{
	"type": true, "status": true, "role": true, "object": true, "reason": true, "eagerness": true,
	"tool_choice": true, "require_approval": true, "modalities": true, "output_modalities": true,
	"target": true, "effort": true, "summary": true, "verbosity": true, "service_tier": true,
	"event_types": true, // a webhook endpoint's subscriptions: OpenAI's types list the events it accepts
}

// shape appends one path per member of v (arrays merged, as "[]"), with the JSON
// kind of its value and, for enumKeys, the value itself.
func shape(keys *[]string, path string, v any) {
	switch v := v.(type) {
	case map[string]any:
		*keys = append(*keys, path+"{}")
		for k, x := range v {
			shape(keys, path+"."+k, x)
		}
	case []any:
		*keys = append(*keys, path+"[]")
		for _, x := range v {
			shape(keys, path+"[]", x)
		}
	case string:
		base := strings.TrimSuffix(path, "[]")
		name := base[strings.LastIndex(base, ".")+1:]
		if enumKeys[name] {
			*keys = append(*keys, path+"="+v)
		} else {
			*keys = append(*keys, path+":s")
		}
	case float64:
		*keys = append(*keys, path+":n")
	case bool:
		*keys = append(*keys, path+":b")
	case nil:
		*keys = append(*keys, path+":null")
	}
}

// truncateStrings shortens long strings (base64 audio, instructions) so the
// record stays small; a string stays a string, which is all a type checks. The
// values of enumKeys are kept whole.
func truncateStrings(name string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = truncateStrings(k, x)
		}
	case []any:
		for i, x := range v {
			v[i] = truncateStrings(name, x)
		}
	case string:
		if len(v) > 48 && !enumKeys[name] {
			return strings.ToValidUTF8(v[:40], "") + "…"
		}
	}
	return v
}

// skeleton appends frame to dst with each run of digits cut to one and each string
// longer than 48 bytes emptied: frames that differ only in ids, numbers and audio
// have one skeleton, and so one shape.
func skeleton(dst, frame []byte) []byte {
	for i := 0; i < len(frame); i++ {
		c := frame[i]
		switch {
		case c == '"':
			end := i + 1
			for end < len(frame) && frame[end] != '"' {
				if frame[end] == '\\' {
					end++
				}
				end++
			}
			if end-i > 49 {
				dst = append(dst, '"', '"')
			} else {
				dst = skeleton(append(dst, '"'), frame[i+1:min(end, len(frame))])
				dst = append(dst, '"')
			}
			i = end
		case c >= '0' && c <= '9':
			if len(dst) == 0 || dst[len(dst)-1] != '0' {
				dst = append(dst, '0')
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
