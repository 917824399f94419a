// Package sipcall is the OpenAI side of a SIP call, for an application that is
// the call's control plane: the Standard Webhooks signature of OpenAI's webhooks
// (Verify, Sign), the incoming-call events of both engines (ParseIncoming:
// realtime.call.incoming, live.transport.incoming and the deprecated
// live.call.incoming), and the call-control REST API (Client: accept, reject, refer,
// hangup; Realtime under /realtime/calls/{call_id}, GPT-Live under
// /live/sessions/{session_id}).
//
// It is not the sideband: the WebSocket that observes and steers an accepted call is
// pkg/realtime (DialOptions.CallID) or pkg/live (DialOptions.AttachSessionID). No
// media crosses the application: OpenAI exchanges the call's audio with the SIP
// trunk itself.
//
// Sources of the wire facts, cited where they are used: OpenAI's guides "Realtime
// API with SIP" (developers.openai.com/api/docs/guides/realtime-sip), "Voice SIP"
// for GPT-Live (…/guides/voice-sip), "Webhooks" (Standard Webhooks headers,
// retries), the API reference of the calls and Live sessions routes, and the pinned
// openai npm package (conformance/package.json): resources/webhooks/webhooks.d.ts,
// resources/realtime/calls.d.ts, resources/live/sessions.d.ts, and the SDK's
// webhooks.verifySignature.
package sipcall
