// Package realtimetest is a twin of OpenAI's Realtime API for tests, in the
// manner of net/http/httptest: Model is a real WebSocket server that the real
// realtime.Conn dials on loopback.
//
// Model keeps what a bridge can get wrong honest: session.update merges into the
// session as the GA API's does (omitted fields kept, null or [] clears; Session
// returns the result), and an unknown or invalid parameter anywhere refuses the whole
// update with the API's error (invalid_request_error, param, the client's event_id);
// the voice cannot change once audio was produced, nor the model at all. Every other client event with a member its type does not have is refused too. It rejects a truncate past an
// item's audio, a response.create during an active response and a cancel with
// nothing active, and cancels a response when speech starts (unless turn detection
// is off or interrupt_response false). Every server event carries an event_id, items
// have the API's shapes, and it emits what the API emits besides a response's events:
// conversation.item.added/done, rate_limits.updated, mcp_list_tools.*. HoldUpdates
// keeps updates in flight, to test what a client believes meanwhile. What it says is scripted by the test
// (ModelConn.Respond, SpeechStarted, SendError, Drop) or by Model.Script and
// Model.AutoRespond; package offlinecall's Brain is a script that holds a whole
// conversation.
//
// It is not a model: it understands no audio. Nothing here talks to the network
// beyond the loopback sockets it is given.
package realtimetest
