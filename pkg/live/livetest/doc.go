// Package livetest is the GPT-Live twin, beside its protocol like net/http/httptest:
// Model, a real WebSocket server for /v1/live/sessions that refuses what the API
// refuses (see Model), and ModelConn, which a test scripts: Say (transcript and
// audio deltas, stopped by the caller's speech), Hear, Delegate (a Responses
// backend's function call the application must answer), SendUsage, SendError,
// EndSession, Drop, and what it received (WaitEvent, AudioIn, CallerSpeaking).
//
// With CALLAGENT_CONFORMANCE_DIR set it records each distinct shape of client event
// received and server event sent in DIR/live-events-PID.jsonl, which
// scripts/conformance type-checks against openai/resources/live/live.
package livetest
