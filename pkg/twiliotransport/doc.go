// Package twiliotransport is the caller side of a call: Twilio Media Streams.
//
// It has the stream's message types (connected, start, media, mark, dtmf and stop from
// Twilio; media, mark and clear to it), a codec with an allocation-free path for
// inbound media, and Stream, the per-call caller leg: Accept upgrades the request and
// reads the start message; ReadFrame returns what Twilio sends; SendAudio relays
// agent audio (base64 μ-law, never decoded) followed by a mark; Interrupt clears
// Twilio's queue and reports what the caller actually heard.
//
// The Playback tracker is the heart of barge-in. Marks name the generation, the item
// and its byte offset; heard audio is the last echoed mark plus the time since at
// 8 bytes/ms, never more than was sent. Echoes that Twilio sends after a clear and
// deltas of a cancelled response are ignored.
//
// It does not check X-Twilio-Signature, answer webhooks or talk to the model: the
// server and the session do.
package twiliotransport
