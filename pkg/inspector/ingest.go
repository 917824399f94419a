package inspector

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// Ingest reads a server's JSON log lines from r (what serve prints on stdout,
// as `callagent logs -` reads them: calllog.Read) and keeps each call's events
// in dir in the call logs' layout (DATE/CALLSID.jsonl, the date of the call's
// first line), so a Handler whose LogDir is dir lists and shows them; publish,
// when not nil, is given each event after its line is written (the Handler's
// PublishEvent: the list updates as lines arrive). Lines that are not events
// (serve's own records) are passed over; lines that cannot be read, and events
// of no call or of a call SID that is not a plain name, go to bad. It returns
// when r ends (nil) or cannot be read, or when a line cannot be written.
func Ingest(r io.Reader, dir string, publish func(callevent.Event), bad func(calllog.BadLine)) error {
	paths := map[string]string{}
	var werr error
	n := 0
	err := calllog.Read(r, "stdin", func(l calllog.Line, ev callevent.Event) {
		n++
		if werr != nil {
			return
		}
		if !plainSID(l.CallSID) {
			if bad != nil {
				bad(calllog.BadLine{File: "stdin", Line: n, Err: errNoCallSID})
			}
			return
		}
		p, ok := paths[l.CallSID]
		if !ok {
			day := filepath.Join(dir, l.Time.UTC().Format(time.DateOnly))
			if werr = os.MkdirAll(day, 0o700); werr != nil {
				return
			}
			p = filepath.Join(day, l.CallSID+".jsonl")
			paths[l.CallSID] = p
		}
		data, err := json.Marshal(l)
		if err != nil {
			return
		}
		if werr = appendLine(p, data); werr != nil {
			return
		}
		if publish != nil {
			publish(ev)
		}
	}, bad)
	if werr != nil {
		return werr
	}
	return err
}

var errNoCallSID = errors.New("an event without a call SID (or with one that is not a plain name)")

// plainSID reports whether sid can name a file: letters, digits, - and _.
func plainSID(sid string) bool {
	if sid == "" || len(sid) > 64 {
		return false
	}
	for _, c := range sid {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// appendLine appends data and a newline to the file at p, opened for this line
// only: a server's log may name any number of calls, and no file stays open.
func appendLine(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(append(data, '\n'))
	if err := f.Close(); werr == nil {
		werr = err
	}
	return werr
}
