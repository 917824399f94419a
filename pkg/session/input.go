package session

import (
	"slices"
	"sync"
)

// inputQueue holds the caller's input that arrives before the model is ready, and
// hands it to the model task in order. Once the model task finds it empty it is open:
// nothing more is queued, and the caller pump and the DTMF collector write to the
// model themselves. The caller pump and the DTMF collector push; the model task takes.
type inputQueue struct {
	limit int // bytes of base64 audio kept; the oldest audio goes first

	mu      sync.Mutex // guards the fields below
	open    bool
	items   []queuedInput
	bytes   int // base64 audio bytes in items
	frames  int // audio frames ever queued
	dropped int // audio frames dropped to stay under limit
}

// queuedInput is caller input that arrived before the model was ready.
type queuedInput struct {
	audio  []byte
	digits string
}

// pushAudio queues a copy of a frame of caller audio (base64), dropping the oldest
// audio beyond the limit. It returns false, queuing nothing, once the queue is open.
func (q *inputQueue) pushAudio(payload []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.open {
		return false
	}
	q.items = append(q.items, queuedInput{audio: append([]byte(nil), payload...)})
	q.frames++
	q.bytes += len(payload)
	for i := 0; q.bytes > q.limit && i < len(q.items); {
		// Keep the newest audio: it is what the caller is saying now. Key presses
		// are kept: they take no room and are what the caller meant.
		if q.items[i].audio == nil {
			i++
			continue
		}
		q.bytes -= len(q.items[i].audio)
		if i == 0 {
			q.items = q.items[1:]
		} else {
			q.items = slices.Delete(q.items, i, i+1)
		}
		q.dropped++
	}
	return true
}

// pushDigits queues key presses. It returns false, queuing nothing, once the queue is
// open.
func (q *inputQueue) pushDigits(digits string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.open {
		return false
	}
	q.items = append(q.items, queuedInput{digits: digits})
	return true
}

// take returns what is queued and empties the queue. When nothing is queued it opens
// the queue and returns nil: whoever takes must deliver each batch before taking the
// next, so that input written directly after the queue opens follows it.
func (q *inputQueue) take() []queuedInput {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch := q.items
	q.items, q.bytes = nil, 0
	if len(batch) == 0 {
		q.open = true
	}
	return batch
}

// counts returns how many audio frames were queued and delivered, and how many were
// dropped.
func (q *inputQueue) counts() (buffered, dropped int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.frames - q.dropped, q.dropped
}
