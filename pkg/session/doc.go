// Package session runs one call: it joins the caller leg (a Twilio Media Stream) and
// the model leg (an OpenAI Realtime connection) until either ends.
//
// Caller audio is relayed as the base64 string Twilio sent, without decoding; audio
// that arrives while the model is still connecting is queued (bounded) and delivered
// in order. Agent audio goes back the same way, with a mark every 100 ms of it and at
// the end of each item's audio (EndAudio). When
// the caller barges in, Twilio's queue is cleared, the response is cancelled if the
// server does not do it itself, and each item the caller did not hear in full is
// truncated where they stopped hearing it (items queued behind it at 0), so the model
// remembers what was actually said. Tools run on their own goroutines with a timeout
// and an optional approval; their errors go back to the model as text. Key presses
// reach the model as a short text message. response.create is never sent while a
// response is active.
//
// Everything the call does is published as typed events (package callevent) on a buffered
// queue drained by one goroutine; a slow consumer loses events, never audio. A
// problem that can repeat at frame rate (a malformed frame from either side, agent
// audio that is not base64, a dropped key press) is warned about once, then at most
// once every 10 s with the count since, and the rest in a summary before CallEnded:
// every occurrence is in exactly one warning's Count, and a flood cannot fill the
// queue or the logs.
//
// Endings: a Twilio stop or a closed stream closes the model socket at once; a model
// error event is reported and the call goes on; a lost model socket ends the call by
// closing the stream normally (Twilio then runs the TwiML after <Connect> or hangs
// up); a cancelled context closes both. CallEnded carries the reason.
//
// The session does not know HTTP, TwiML or signatures (pkg/server does) nor how a
// tool is configured (pkg/agent builds Tools).
//
// # Goroutines
//
// This is the one list of the goroutines of a call; other documents point here, and
// a test checks it against every goroutine the package starts. Each is named by the
// function it runs, or, for a closure, the function that starts it. All are joined
// before Run returns.
//
// The caller pump, callerPump, is not started: Run runs it on its own goroutine (one
// stack less per call). It reads the caller leg; relays caller audio to the model
// (into the input queue while the model connects); hands key presses to the DTMF
// collector. It ends on a stop, or when the leg fails or is closed; every way out of
// it ends the call.
//
//   - model task (modelTask), started by Run: dials (or claims) the model, sends
//     session.update (the whole session, audio/pcmu both ways), delivers the queued
//     caller input, asks for the greeting, then reads the model: relays agent audio
//     to the caller, handles barge-in (who cancels follows the turn detection the
//     server confirmed in session.updated), transcripts, guardrails, responses, tool
//     calls and errors (a refused session.update ends the call). Ends when the dial
//     fails, or when the leg fails or is closed.
//   - DTMF collector (dtmfLoop), started by the caller pump at the first key press
//     (a call without one never has it): batches key presses into one text message
//     for the model. Ends with the call.
//   - watchdog (watchdog), one tick at a time on a timer (time.AfterFunc), armed by
//     Run and then by each tick, so no goroutine waits between ticks: reports media
//     statistics each second; ends a call whose caller leg went silent, that reached
//     MaxDuration (asking the agent to wrap up first) or whose line stayed silent
//     (asking first whether the caller is there); on a call whose carrier suppresses
//     silence it also pads the caller's trailing silence, ticking every 50 ms from
//     then on. Arms no tick once the call ends; Run stops the timer.
//   - tool call (runTool), one per function call, started by the model task:
//     approval, timeout, panic recovery, output, response.create. Tools reach the
//     call through CallFrom; their context ends with the call.
//   - cost wrap-up (costWrapUp), at most one, started by the model task when the
//     running cost (reported after each response.done as call.usage) passes
//     MaxCost: tells the agent to wrap up, waits for its goodbye to play (15 s at
//     most), ends the call (max_cost).
//   - MCP approval (answerMCPApproval), one per hosted MCP approval request, started
//     by the model task: asks the approver and answers the model.
//   - idle goodbye (checkIdle), at most once, started by the watchdog: asks the model
//     to say goodbye, waits until it is heard (15 s at most), ends the call.
//   - event dispatcher (eventQueue.dispatch), when Options.OnEvent is set, started by
//     whoever queues an event while none runs: calls OnEvent in order from a bounded
//     queue (an event that does not fit is dropped and counted). Ends as soon as
//     nothing is pending, so it runs only in bursts (one at a time); the last one
//     delivers CallEnded.
//   - teardown (teardown), started by Run on a context.AfterFunc of the call's end,
//     so it exists only once the call has ended: marks the session ending, calls
//     OnEnd, cancels the work context, stops the watchdog and closes the legs
//     (closeLegs), which unblocks the pumps.
//   - cancel watcher (end), a context.AfterFunc of Run's context: ends the call
//     (cancelled) when that context is cancelled first; no goroutine until then.
//   - leg closers (closeLegs), two, started by the teardown: close the caller and
//     the model leg at the same time.
//
// Run joins the pumps, the collector and the watchdog's last tick, then the tool
// calls, MCP approvals and the idle goodbye (only those it has just joined start
// them), then the dispatchers (the queue is closed first, so none starts after);
// closeLegs joins the leg closers. A call's goroutines between events are thus the
// two pumps, the caller pump being the one running Run.
package session
