// Package livebridge runs a call on GPT-Live through the session built for the
// Realtime API: Leg implements session.ModelLeg by translating between the two
// vocabularies, so the session's guarantees (lifecycle, goroutines, events, tools,
// approvals, guardrails, endings, recording) hold on the Live engine unchanged.
//
// What the session says, and what Live is told:
//
//   - The first session.update becomes session.start: the model (gpt-live-*), the
//     agent's instructions and voice, audio/pcmu at 8000 Hz always, and Responses
//     delegation to Options.BackendModel with the agent's function tools (HTTP, Go,
//     hang_up, transfer, handoff tools) as Responses function tools and its hosted MCP
//     tools as Responses MCP tools. session.started is answered to the session as a
//     session.updated stating the format Live confirmed (the session ends the call
//     when it is not audio/pcmu) and server-side interruption (the model owns
//     barge-in, so the session never sends response.cancel for it).
//   - A later session.update (a handoff) cannot change the voice or the conversation
//     instructions Live fixed at startup: the new agent's instructions are appended
//     (session.instructions.append) and the backend's instructions, tools and tool
//     choice are replaced (session.update of delegation.responses).
//   - Caller audio is session.input_audio.append, passed through as base64 without
//     allocating.
//   - A system message (Instruct: time limits, idle prompts, guardrail corrections)
//     is session.instructions.append; a user message (key presses) is
//     session.thinking.append (silent context the model acts on). The greeting's
//     response.create becomes session.instructions.append of what follows the
//     agent's instructions ("Start the call now. ..."). A function call's output is
//     response.item.create, and the response.create after outputs continues the
//     delegated response; a response.create with no output before it is swallowed:
//     Live has no command to speak, it speaks to the context appended.
//   - response.cancel and conversation.item.truncate are swallowed (Live has
//     neither: its model stops by itself and remembers what it said); a cancelled
//     turn ends with response.done status cancelled. Any other client event is
//     refused with an error.
//
// What Live says, and what the session is told:
//
//   - A turn of the agent's speech (output audio and transcript deltas) is a
//     synthesized response: response.created and response.output_item.added before
//     its first delta, response.output_audio.delta and
//     response.output_audio_transcript.delta as it comes, and, once no delta came
//     for Options.TurnGap and the audio sent has played (Live has no end-of-turn
//     event; a stall shorter than the audio queued at Twilio does not split an
//     answer), the transcript's done, the item's done and response.done. The
//     caller speaking after the model stopped ends the turn at once.
//   - Caller transcript deltas are conversation.item.input_audio_transcription.delta;
//     the item is completed when the agent next speaks or delegates.
//   - A delegation whose backend function call is complete (response.event carrying
//     response.output_item.done with a function_call item) is a response of its own:
//     response.created, response.output_item.done with the call, response.done.
//   - Errors are error events with the same type, code, message and param; the
//     client event id names the Realtime event that caused it (so a refused
//     session.start reads as a refused session.update and ends the call).
//     A malformed Live event is returned as a *realtime.DecodeError: the session
//     skips it with a warning. session.closed and a lost socket end the leg.
//   - Usage is not an event: Leg.Usage (session.UsageLeg) holds Live's cumulative
//     billed seconds (session.usage.updated, then session.closed's final figure;
//     totals, never summed) and the delegated backend's tokens summed over its
//     response.completed events, with the backend model. Close sends session.close
//     and waits up to Options.CloseWait for session.closed, so the final usage is in
//     before the session prices the call.
//
// Barge-in: the model stops speaking by itself, but agent audio it sent faster than
// real time may still be queued at Twilio. The leg runs an energy detector on the
// caller's audio (20 ms frames of μ-law; speech after two loud frames, over after
// 500 ms of quiet). When the caller starts speaking and the model is not streaming
// (no delta for TurnGap), the leg reports input_audio_buffer.speech_started at once,
// and the session clears Twilio. When the model is streaming at that moment, the
// model decides: if it stops (its turn ends) while the caller still speaks, the leg
// reports speech_started before the turn's response.done (status cancelled), and
// whatever was queued at Twilio is cleared; if the model keeps speaking, the caller
// was only backchannelling and nothing is cleared. An input transcript delta while
// agent audio is still playing and the model is not streaming counts as the caller
// speaking too.
//
// A SIP call (sip.go) runs over the Live session's attach socket instead: no audio
// is relayed and no speech is detected (see sip.go).
//
// # Goroutines
//
// A Leg runs one goroutine, the reader (readLoop), started by the first
// session.update: it reads Live events and translates them. It ends when the
// connection ends; Close and CloseNow join it. A timer (time.AfterFunc) ends a turn
// after TurnGap; Close stops it.
package livebridge
