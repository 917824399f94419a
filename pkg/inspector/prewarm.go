package inspector

import (
	"github.com/callagent/callagent/pkg/calllog"
)

// A call's page needs its timeline and its recording's peaks; for a long call
// the first computation of either (a log of tens of thousands of lines, a WAV of
// tens of megabytes) is most of the time the page takes to open, and both are
// cached by file version afterwards. So when the list is read, the newest ended
// calls are computed ahead, in the background, before anyone clicks one: by
// then a click is answered from the cache.

// pagePeaks is the bucket count the call page asks for (call.js, peaksWanted).
const pagePeaks = 4000

// prewarmCalls is how many of the newest ended calls are computed ahead.
const prewarmCalls = 5

// prewarm computes the timelines and peaks of sids in one background goroutine,
// unless one is still at work (the list is read again at every change of a call
// in progress: a second pass would find the cache warm anyway).
func (h *Handler) prewarm(sids []string) {
	if len(sids) == 0 || !h.warming.CompareAndSwap(false, true) {
		return
	}
	h.bg.Go(func() {
		defer h.warming.Store(false)
		for _, sid := range sids {
			if path, err := calllog.Find(h.opts.LogDir, sid); err == nil {
				_, _, _ = readTimeline(path) // a failure is the page's to report
			}
			_, _, _ = h.peaksOf(sid, pagePeaks) // no recording: nothing to warm
		}
	})
}

// Wait waits for the work the handler does in the background (the list's prewarm:
// a few files read, so it ends by itself, soon). The server that serves the
// handler calls it once its requests are over.
func (h *Handler) Wait() { h.bg.Wait() }

// newestEnded returns the SIDs of the first n ended calls of a list (newest first).
func newestEnded(calls []Call, n int) []string {
	var sids []string
	for _, c := range calls {
		if len(sids) == n {
			break
		}
		if c.Ended {
			sids = append(sids, c.SID)
		}
	}
	return sids
}
