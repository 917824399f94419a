// Package live speaks OpenAI's GPT-Live WebSocket protocol (wss://api.openai.com/v1/live/sessions):
// typed client and server events for what callagent needs, a codec that keeps unknown
// server events as *UnknownEvent, and Conn (Dial, Start, ReadEvent, Send, AppendAudio).
//
// The protocol differs from the Realtime API's in ways a bridge must respect: there
// are no query parameters (the model is in session.start, the first message); the
// session's instructions, voice and audio format are fixed at startup; the model owns
// barge-in (there is no response.cancel or truncate); tools run by delegation. With
// Responses delegation the backend's function calls reach the application as
// response.event frames whose nested Responses event is a response.output_item.done
// carrying a function_call item (ResponseEvent.FunctionCall); the application answers
// with response.item.create carrying a function_call_output item
// (FunctionCallOutput) and then response.create, which continues the delegated
// response waiting for tool results.
//
// OpenAI's published TypeScript types (openai/resources/live/live, pinned in
// conformance/package.json) are the reference; scripts/conformance checks the events
// the twin (livetest) exchanged against them.
package live
