// Package session runs one call: it joins the caller leg (a Twilio Media Stream) and
// the model leg (an OpenAI Realtime connection) until either ends.
//
// Caller audio is relayed as the base64 string Twilio sent, without decoding; audio
// that arrives while the model is still connecting is queued (bounded) and delivered
// in order. Agent audio goes back the same way, each chunk followed by a mark. When
// the caller barges in, Twilio's queue is cleared, the response is cancelled if the
// server does not do it itself, and each item the caller did not hear in full is
// truncated where they stopped hearing it (items queued behind it at 0), so the model
// remembers what was actually said. Tools run on their own goroutines with a timeout
// and an optional approval; their errors go back to the model as text. Key presses
// reach the model as a short text message. response.create is never sent while a
// response is active.
//
// Everything the call does is published as typed events (package callevent) on a buffered
// queue drained by one goroutine; a slow consumer loses events, never audio.
//
// The goroutines of a call, all joined before Run returns:
//
//   - caller pump: reads the caller leg; relays audio to the model; hands DTMF to the
//     collector; ends the call on stop or when the leg fails.
//   - model task: dials (or claims) the model, sends session.update, delivers queued
//     caller input, then reads the model: relays audio to the caller, handles barge-in,
//     transcripts, responses, tool calls and errors.
//   - DTMF collector: batches key presses for the model.
//   - watchdog: reports media statistics each second and ends a call whose caller leg
//     went silent.
//   - one goroutine per tool call or MCP approval in progress.
//   - the event dispatcher, when Options.OnEvent is set.
//
// Endings: a Twilio stop or a closed stream closes the model socket at once; a model
// error event is reported and the call goes on; a lost model socket ends the call by
// closing the stream normally (Twilio then runs the TwiML after <Connect> or hangs
// up); a cancelled context closes both. CallEnded carries the reason.
//
// The session does not know HTTP, TwiML or signatures (pkg/server does) nor how a
// tool is configured (pkg/agent builds Tools).
package session
