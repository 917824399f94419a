package inspector

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// Change is what the events stream says about a call: it started, ended or
// logged something new. It carries no words of the call: a page that wants them
// asks /api/calls/{sid}.
type Change struct {
	Type    string    `json:"type"` // ChangeStarted, ChangeEnded or ChangeUpdated
	CallSID string    `json:"sid"`
	Time    time.Time `json:"time"`
	// Outcome is the end reason, with ChangeEnded.
	Outcome string `json:"outcome,omitempty"`
}

// Change types.
const (
	ChangeStarted = "call.started"
	ChangeEnded   = "call.ended"
	ChangeUpdated = "call.updated"
)

type client struct {
	ch chan []byte
	// gone is closed when the client is dropped for falling behind.
	gone chan struct{}
}

// Publish sends c to every events client without waiting: a client whose
// queue is full is dropped (its stream ends; the page reconnects and reloads
// the list). Safe for concurrent use, from any goroutine.
func (h *Handler) Publish(c Change) {
	data, err := json.Marshal(c)
	if err != nil {
		return
	}
	if h.opts.Redactor != nil {
		data = h.opts.Redactor.Redact(data)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for cl := range h.clients {
		select {
		case cl.ch <- data:
		default:
			delete(h.clients, cl)
			close(cl.gone)
			h.dropped++
		}
	}
}

// updateEvery is the least time between two ChangeUpdated of one call that
// PublishEvent sends: a call logs many lines a second, a list reloads once.
const updateEvery = 250 * time.Millisecond

// PublishEvent publishes the change a call event makes: its start, its end, or
// (at most every 250 ms per call, by the events' own times) an update. dev
// hands it its live events; inspect the lines it follows in the call logs.
func (h *Handler) PublishEvent(ev callevent.Event) {
	hd := ev.EventHeader()
	if hd.CallSID == "" {
		return
	}
	c := Change{Type: ChangeUpdated, CallSID: hd.CallSID, Time: hd.Time}
	switch e := ev.(type) {
	case callevent.CallStarted:
		c.Type = ChangeStarted
	case callevent.CallEnded:
		c.Type, c.Outcome = ChangeEnded, string(e.Reason)
	}
	h.mu.Lock()
	switch c.Type {
	case ChangeEnded:
		delete(h.lastUpdate, c.CallSID)
	case ChangeUpdated:
		if last, ok := h.lastUpdate[c.CallSID]; ok && c.Time.Sub(last) < updateEvery && c.Time.Sub(last) >= 0 {
			h.mu.Unlock()
			return
		}
		fallthrough
	default:
		if len(h.lastUpdate) >= maxTracked { // calls whose end never came
			clear(h.lastUpdate)
		}
		h.lastUpdate[c.CallSID] = c.Time
	}
	h.mu.Unlock()
	h.Publish(c)
}

// maxTracked bounds the calls PublishEvent remembers.
const maxTracked = 1024

// Dropped is how many events clients were dropped for falling behind.
func (h *Handler) Dropped() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dropped
}

// clientCount is how many events clients are connected (tests wait on it).
func (h *Handler) clientCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	cl := &client{ch: make(chan []byte, h.opts.EventBuffer), gone: make(chan struct{})}
	h.mu.Lock()
	h.clients[cl] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.clients, cl)
		h.mu.Unlock()
	}()
	// A comment first: the browser's EventSource opens at once.
	if _, err := w.Write([]byte(": callagent inspector\nretry: 2000\n\n")); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		var msg []byte
		select {
		case <-r.Context().Done():
			return
		case <-cl.gone:
			return
		case <-keepAlive.C:
			msg = []byte(": keep-alive\n\n")
		case data := <-cl.ch:
			msg = append(append([]byte("data: "), data...), "\n\n"...)
		}
		// A client that cannot take a line in time is gone too.
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(msg); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}
