// Package realtimetest is a twin of OpenAI's Realtime API for tests, in the
// manner of net/http/httptest: Model is a real WebSocket server that the real
// realtime.Conn dials on loopback.
//
// Model keeps what a bridge can get wrong honest: it rejects a truncate past an
// item's audio, a response.create during an active response and a cancel with
// nothing active, and cancels a response when speech starts (unless
// interrupt_response is off). What it says is scripted by the test
// (ModelConn.Respond, SpeechStarted, SendError, Drop) or by Model.Script and
// Model.AutoRespond; package offlinecall's Brain is a script that holds a whole
// conversation.
//
// It is not a model: it understands no audio. Nothing here talks to the network
// beyond the loopback sockets it is given.
package realtimetest
