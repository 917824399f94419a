// Package realtime speaks the OpenAI Realtime API (the GA protocol) over WebSocket.
//
// It has hand-written structs for the client and server events a phone bridge uses:
// session configuration, the input audio buffer and voice activity detection,
// transcripts, responses and their audio, function calls, hosted MCP tools, truncate,
// cancel and errors. Events it does not know decode as *UnknownEvent with the raw JSON
// kept, so a new server event never breaks a call.
//
// Audio is never decoded here: Audio holds base64 text as it travels, and Conn reads
// response.output_audio.delta through an allocation-free fast path, returning one
// reused event whose Delta aliases the read buffer.
//
// Conn is the client: Dial derives the WebSocket URL from an API base URL
// (OPENAI_BASE_URL; http→ws, https→wss, + /realtime?model=), authenticates with a
// bearer key, raises the read limit, serializes writes, and reports how the connection
// ended as a *CloseError. Every client event it sends carries an event_id
// ("ca-N-TYPE", written without allocating on the audio path), so an error event that
// echoes it names the failed event (EventIDType). A session.update merges into the
// server's session: AudioInput.Off and an empty non-nil SessionConfig.Tools say what
// an update clears. It is not a session manager: callagent's pkg/session decides
// what to send and when.
package realtime
