//go:build race

package inspector_test

// raceDetector is true when the tests run under -race, which makes Go code
// several times slower: bounds on wall time widen.
const raceDetector = true
