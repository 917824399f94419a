// Package twiliotest is a twin of Twilio's side of a call for tests, in the
// manner of net/http/httptest: Caller is a Media Streams client on a real
// WebSocket, PlaceCall does what Twilio does when a number is called (a signed
// voice webhook, then the stream its TwiML names), and Sign computes
// X-Twilio-Signature as Twilio does.
//
// Caller sends connected, start, 20 ms μ-law frames (paced in real time or as
// fast as possible), DTMF and stop, and plays what it receives at 8000 bytes/s:
// it echoes a mark when the audio before it has played and every pending mark at
// once after a clear, like Twilio, and records what was played when (PlayedAt),
// so tests can hold a truncation to what a caller really heard.
//
// It is not Twilio's REST API (see the fake beside the REST client). Nothing
// here talks to the network beyond the loopback sockets it is given.
package twiliotest
