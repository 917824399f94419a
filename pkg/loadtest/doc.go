// Package loadtest drives simulated calls at real-time pace against a running
// callagent serve (or any server that speaks Twilio's voice webhook and Media
// Streams on one side and OpenAI's Realtime API on the other) to size a deployment.
//
// Both peers are the strict twins: each call is a twiliotest caller (a signed
// webhook, then the stream its TwiML names, real timestamps, optional silence
// suppression, playback after a jitter buffer, marks echoed, clears obeyed), and
// the model is a realtimetest.Model that the load test serves itself (Model); the
// server under test must be started with its OpenAI base URL pointed at it.
//
// Every caller frame of speech and every agent frame is marked (frame.go): the
// side that receives it knows which call, which turn and which frame it is, and
// when it was sent, so the report (Report) has the relay latency both ways, frames
// lost or damaged, the clear latency of barge-ins and the truncation error, per
// target, with the target's CPU and memory when its PID is given.
//
// Goroutines: Model serves HTTP (one goroutine, ended by Close) and the twin's per
// connection goroutines (a script each, joined by Close). Run starts, per target
// in turn, one goroutine per call (placing it and holding the conversation; each
// call's caller runs the twin's own reader, player and sender), a progress line
// goroutine and, with a PID, a /proc sampler; all are joined before Run returns.
// It is not a benchmark of the load test itself: the twins run in this process and
// cost CPU of their own, so run it on another machine than the target when the
// target's CPU is what you measure at high call counts.
package loadtest
