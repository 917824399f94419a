package calllog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// Options configure a Writer.
type Options struct {
	// Dir holds the logs: Dir/2026-11-23/CA….jsonl (the date is the call's start, UTC).
	Dir string
	// MaxAge and MaxBytes bound what is kept: older files, then the oldest beyond
	// MaxBytes in all, are removed when the Writer starts and every hour after.
	// Zero means no bound.
	MaxAge   time.Duration
	MaxBytes int64
	// Redactor removes secrets from every line (nil: only the built-in patterns).
	Redactor *Redactor
	// OmitText keeps what was said out of the files (WithoutText).
	OmitText bool
	// Queue is how many lines may wait for the disk (default 8192); beyond it lines
	// are dropped and counted, never waited for.
	Queue int
	// OnError is told about the first failure to write (an unwritable directory, a
	// full disk), and again after a write succeeded since; calls go on regardless.
	OnError func(error)
	// IdleClose closes a call's file once no line came for it this long (default
	// DefaultIdleClose): a call whose stream never came has no end. A call that
	// ended has its file closed as soon as its call.ended line is written; a line
	// that comes after (Twilio asks what to do once the stream is over) reopens
	// the same file in append mode, which is closed again once written.
	IdleClose time.Duration
	// FlushEvery is how often queued lines are written (default DefaultFlushEvery):
	// a line reaches its file within it, and a crash loses at most that much. Lines
	// are taken from the queue in batches rather than one wake-up each, and a call's
	// lines of one batch go to its file in one write: at a few lines a second per
	// call, each line would otherwise cost the process a wake-up and a write.
	FlushEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults for retention.
const (
	DefaultMaxAge   = 14 * 24 * time.Hour
	DefaultMaxBytes = 512 << 20
	// DefaultIdleClose is Options.IdleClose's default.
	DefaultIdleClose = time.Minute
	// DefaultFlushEvery is Options.FlushEvery's default: the writer wakes four
	// times a second, whatever the number of calls, and a call's lines wait at most
	// that long (held longer, they would cost memory per call: a line is a few
	// hundred bytes, a call writes a few a second).
	DefaultFlushEvery = 250 * time.Millisecond
)

type entry struct {
	callSID string
	at      time.Time
	line    []byte // without newline
	end     bool   // call.ended: the call's file closes once this is written
}

// Writer writes each call's events to its own file. Event never blocks: lines go
// through a bounded queue to one writer goroutine, which takes them every
// FlushEvery (at once when the queue is half full, when a call ends, and at Close),
// so `callagent logs -f` sees a line within FlushEvery of its event, and a call
// that ended is in its file when the terminal says so.
type Writer struct {
	opts    Options
	queue   chan entry
	wake    chan struct{} // the queue is half full, or closed: take it now
	done    chan struct{}
	dropped atomic.Int64

	mu     sync.Mutex // guards closed
	closed bool

	// writer goroutine only
	files   map[string]*callFile
	recent  map[string]closedFile // recently closed, so a late line goes to the same file
	failing bool
}

// callFile is a call's open file. Lines wait in buf until the batch is taken; buf
// grows with what a burst needs (a few lines), not a fixed buffer per call.
type callFile struct {
	f     *os.File
	buf   []byte
	path  string
	bad   bool      // a write failed: the rest of this call is not written
	ended bool      // the call ended: close the file once its lines are written
	last  time.Time // of the last line (wall clock)
}

// flushAt is how much a call's pending lines may hold before they are written
// without waiting for the batch to end.
const flushAt = 16 << 10

// keepBuf is the most of a call's line buffer kept between batches: a batch's
// usual line or two; a burst's larger buffer is let go once written.
const keepBuf = 1 << 10

type closedFile struct {
	path  string
	at    time.Time
	ended bool
}

// NewWriter prunes old logs and starts the writer goroutine. Close it to flush.
func NewWriter(opts Options) *Writer {
	if opts.Queue <= 0 {
		opts.Queue = 8192
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnError == nil {
		opts.OnError = func(error) {}
	}
	if opts.IdleClose <= 0 {
		opts.IdleClose = DefaultIdleClose
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = DefaultFlushEvery
	}
	w := &Writer{opts: opts, queue: make(chan entry, opts.Queue), wake: make(chan struct{}, 1), done: make(chan struct{}),
		files: map[string]*callFile{}, recent: map[string]closedFile{}}
	if _, err := Prune(opts.Dir, opts.MaxAge, opts.MaxBytes, opts.Now()); err != nil {
		// A directory that cannot be read is reported by the first write.
		if info, serr := os.Stat(opts.Dir); serr == nil && info.IsDir() {
			opts.OnError(fmt.Errorf("call log: pruning %s: %w", opts.Dir, err))
		}
	}
	go w.run()
	return w
}

// Event queues ev for its call's file. Transcript deltas are not written (the
// final transcripts are); everything else is, debug events included.
func (w *Writer) Event(ev callevent.Event) {
	switch ev.(type) {
	case callevent.CallerTranscriptDelta, callevent.AgentTranscriptDelta:
		return
	}
	if w.opts.OmitText {
		ev = callevent.WithoutText(ev)
	}
	line, err := Marshal(ev)
	if err != nil {
		return
	}
	h := ev.EventHeader()
	_, end := ev.(callevent.CallEnded)
	w.send(entry{callSID: h.CallSID, at: h.Time, line: line, end: end})
}

func (w *Writer) send(e entry) {
	w.mu.Lock()
	first := false
	if !w.closed {
		select {
		case w.queue <- e:
			if e.end || len(w.queue) >= cap(w.queue)/2 {
				w.poke() // a call's end is in its file at once: `callagent logs` right after shows it ended
			}
		default:
			first = w.dropped.Add(1) == 1
		}
	}
	w.mu.Unlock()
	if first {
		w.opts.OnError(errors.New("call log: the disk does not keep up; events are being dropped"))
	}
}

// Dropped reports how many lines the full queue dropped.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

// Close writes what is queued, closes every file and stops the writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
		w.poke()
	}
	w.mu.Unlock()
	<-w.done
	return nil
}

// poke asks the writer goroutine to take the queue now.
func (w *Writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Writer) run() {
	defer close(w.done)
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	idle := time.NewTicker(w.opts.IdleClose / 2)
	defer idle.Stop()
	tick := time.NewTicker(w.opts.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-w.wake:
		case <-tick.C:
		case <-prune.C:
			w.flush()
			Prune(w.opts.Dir, w.opts.MaxAge, w.opts.MaxBytes, w.opts.Now())
		case now := <-idle.C:
			w.closeIdle(now)
		}
		if !w.take() {
			for sid := range w.files {
				w.closeFile(sid)
			}
			return
		}
	}
}

// take writes what is queued, then flushes. It reports false once the queue is
// closed and empty.
func (w *Writer) take() bool {
	for {
		select {
		case e, ok := <-w.queue:
			if !ok {
				return false
			}
			w.write(e)
		default:
			w.flush()
			return true
		}
	}
}

// closeIdle closes the files of calls that went quiet, and forgets the paths of
// files closed long ago.
func (w *Writer) closeIdle(now time.Time) {
	for sid, cf := range w.files {
		if now.Sub(cf.last) >= w.opts.IdleClose {
			w.closeFile(sid)
			if cf.path != "" {
				w.recent[sid] = closedFile{path: cf.path, at: now, ended: cf.ended}
			}
		}
	}
	for sid, c := range w.recent {
		if now.Sub(c.at) >= time.Hour {
			delete(w.recent, sid)
		}
	}
}

func (w *Writer) write(e entry) {
	cf := w.files[e.callSID]
	if cf == nil {
		cf = w.open(e)
		w.files[e.callSID] = cf
	}
	cf.last = time.Now()
	cf.ended = cf.ended || e.end
	if cf.bad {
		return
	}
	cf.buf = append(append(cf.buf, w.opts.Redactor.Redact(e.line)...), '\n')
	if len(cf.buf) >= flushAt {
		w.flushFile(cf)
	}
}

// open creates the call's file, or reopens the one closed for idleness; a failure
// marks it bad (reported once).
func (w *Writer) open(e entry) *callFile {
	at := e.at
	if at.IsZero() {
		at = w.opts.Now()
	}
	path := filepath.Join(w.opts.Dir, at.UTC().Format("2006-01-02"), safeName(e.callSID)+".jsonl")
	ended := false
	if c, ok := w.recent[e.callSID]; ok {
		path, ended = c.path, c.ended // the same file, even past midnight
		delete(w.recent, e.callSID)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		cf := &callFile{}
		w.fail(cf, err)
		return cf
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		cf := &callFile{}
		w.fail(cf, err)
		return cf
	}
	return &callFile{f: f, path: path, ended: ended}
}

func (w *Writer) fail(cf *callFile, err error) {
	cf.bad = true
	if !w.failing {
		w.failing = true
		w.opts.OnError(fmt.Errorf("call log: %w (calls go on; they are not logged until this is fixed)", err))
	}
}

// flush writes every call's pending lines, and closes the files of calls that
// ended (remembering their paths, so a late line reopens the same file).
func (w *Writer) flush() {
	for sid, cf := range w.files {
		w.flushFile(cf)
		if cf.ended {
			w.closeFile(sid)
			if cf.path != "" {
				w.recent[sid] = closedFile{path: cf.path, at: time.Now(), ended: true}
			}
		}
	}
}

func (w *Writer) flushFile(cf *callFile) {
	if cf.bad || cf.f == nil || len(cf.buf) == 0 {
		return
	}
	_, err := cf.f.Write(cf.buf)
	cf.buf = cf.buf[:0]
	if cap(cf.buf) > keepBuf {
		cf.buf = nil // a burst's buffer is not kept for the rest of the call
	}
	if err != nil {
		w.fail(cf, err)
		return
	}
	w.failing = false
}

func (w *Writer) closeFile(sid string) {
	cf := w.files[sid]
	delete(w.files, sid)
	if cf == nil || cf.f == nil {
		return
	}
	w.flushFile(cf)
	cf.f.Close()
}

// safeName keeps a call SID usable as a file name whatever a peer sent.
func safeName(sid string) string {
	s := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, sid)
	if s == "" {
		return "unknown"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
