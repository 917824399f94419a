// Package callevent is the vocabulary of a call: the typed events a call emits
// (transcripts, turns, interruptions, tools, endings, debug frames) and, for
// each kind, the one table entry that says how it decodes from a log line,
// which DEBUG namespace it belongs to, how much it matters, and which of its
// fields are personal text that transcript-free logs blank.
//
// It is a leaf: the session emits these events, the server adds its own (the
// webhook answered, a stream that never came), and the call log, the terminal
// and the simulator read them, without importing each other. It is not the
// JSON line format (package calllog) nor how events are rendered (cmd).
package callevent
