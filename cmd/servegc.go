package cmd

import "runtime/debug"

// serveGCPercent is serve's garbage-collection target when GOGC is not set. The relay's
// per-frame path allocates nothing, so the heap grows slowly (about 1 MB/s at 100 calls,
// call setup and events) and collections are rare whatever the target; the Go default
// of 100 lets the heap reach twice what is live between them, and that headroom is
// resident memory. At 50 a collection comes when the heap has grown by half: measured
// with callagent loadtest (docs/DEPLOY.md, Sizing), less RSS per call for CPU within the
// run-to-run noise. GOGC (and GOMEMLIMIT) in the environment still decide.
const serveGCPercent = 50

// tuneServeGC applies serveGCPercent unless the environment sets GOGC.
func tuneServeGC(env *Env) {
	if env.Getenv("GOGC") == "" { // the process environment: the runtime reads no .env
		debug.SetGCPercent(serveGCPercent)
	}
}
