// Package inspector is the HTTP surface of the local call inspector: a JSON API
// over the call logs and recordings (the calls, one call as a timeline, its debug
// frames, its stereo recording), server-sent events when calls start, change and
// end, and a small embedded page that lists the calls.
//
// It is for one person on their own machine: every request needs the token
// (NewToken), its Host header must name the loopback address and port the
// inspector listens on (no DNS rebinding), and no CORS header is ever sent. It
// reads what calllog wrote, already redacted; Options.Redactor, when set,
// redacts each JSON answer again. It is not a server for the public network,
// does not run calls and does not write anything.
//
// Goroutines: none of its own besides the handlers net/http runs. Publish hands
// a change to each events client's bounded queue without waiting; a client whose
// queue is full is dropped (its handler returns), so a slow browser never holds
// up whoever publishes.
package inspector
