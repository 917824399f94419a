package realtimetest

import "github.com/callagent/callagent/internal/eventrecord"

// ConformanceDirEnv turns on conformance recording (internal/eventrecord): when it
// holds a directory, every Model appends each distinct shape of client event it
// accepted and of server event it sent to DIR/events-PID.jsonl, for
// scripts/conformance to type-check against OpenAI's published types. Events of a
// Model marked Unchecked and frames sent with SendRaw are not recorded.
const ConformanceDirEnv = eventrecord.DirEnv

// recordPrefix names the Realtime twin's record files (the Live twin's are
// live-events-PID.jsonl).
const recordPrefix = "events"
