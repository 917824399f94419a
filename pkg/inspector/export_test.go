package inspector

// ResetCaches empties the timeline and peaks caches: a test that times a cold
// opening after a warm one.
func ResetCaches() {
	timelines.reset()
	peakCache.reset()
}

// Warming reports whether the list's prewarm is at work.
func (h *Handler) Warming() bool { return h.warming.Load() }
