// Package sim has the simulated peers of a call: Model, a fake OpenAI Realtime
// server, and Caller, a fake Twilio Media Streams client. Both are real WebSocket
// peers, so the code under test runs its real clients against them on loopback.
//
// Model keeps what a bridge can get wrong honest: it rejects a truncate past an item's
// audio, a response.create during an active response and a cancel with nothing
// active, and cancels a response when speech starts (unless interrupt_response is
// off). What it says is scripted by the test (ModelConn.Respond, SpeechStarted,
// SendError, Drop) or by Model.Script and Model.AutoRespond.
//
// Caller sends connected, start, 20 ms μ-law frames (paced in real time or as fast as
// possible), DTMF and stop, and plays what it receives at 8000 bytes/s: it echoes a
// mark when the audio before it has played and every pending mark at once after a
// clear, like Twilio, and records what was played when (PlayedAt), so tests can hold a
// truncation to what a caller really heard.
//
// Tests and `callagent simulate` use them; nothing here talks to the network beyond
// the loopback sockets it is given.
package sim
