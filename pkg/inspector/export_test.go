package inspector

// ResetCaches empties the timeline and peaks caches: a test that times a cold
// opening after a warm one.
func ResetCaches() {
	timelines.reset()
	peakCache.reset()
}
