//go:build race

package server

// raceDetector is true when the tests run under -race, which makes every call
// several times as costly in CPU and memory.
const raceDetector = true
