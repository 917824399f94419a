package cmd

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callagent/callagent/internal/atomicfile"
	"github.com/callagent/callagent/pkg/offlinecall"
)

// The results of simulate's scenarios: a line per scenario as it finishes, the
// table, --json and --junit.

// Scenario results, in the table and the JSON.
const (
	resultPassed = "passed"
	resultFailed = "failed"
	resultError  = "error" // the call could not be made: neither passed nor failed
)

func result(o *offlinecall.Outcome) string {
	switch {
	case o.Err != nil:
		return resultError
	case o.Passed():
		return resultPassed
	}
	return resultFailed
}

// firstProblem is the error, or the first failed expectation, of a scenario.
func firstProblem(o *offlinecall.Outcome) string {
	switch {
	case o.Err != nil:
		return o.Err.Error()
	case o.Result != nil && len(o.Result.Failures) > 0:
		return o.Result.Failures[0]
	}
	return ""
}

// progressLine is a scenario's line on stderr when it finishes, in a run of several.
// self is how the user runs callagent (Factory.Self).
func progressLine(st Styles, o *offlinecall.Outcome, logged bool, self string) string {
	name := sanitize(o.Scenario.Name)
	switch result(o) {
	case resultPassed:
		return fmt.Sprintf("✓ %s (%s)", name, seconds(o.Elapsed))
	case resultError:
		return st.Error.Render(fmt.Sprintf("! %s: %s", name, sanitize(firstProblem(o))))
	}
	line := fmt.Sprintf("✗ %s: %s", name, sanitize(firstProblem(o)))
	if n := len(o.Result.Failures); n > 1 {
		line += fmt.Sprintf(" (and %d more)", n-1)
	}
	if logged {
		line += " — " + self + " logs " + o.Result.CallSID
	}
	return st.Error.Render(line)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// printResultsTable writes a row per scenario and a total.
func printResultsTable(w io.Writer, st Styles, outcomes []*offlinecall.Outcome) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tRESULT\tTURNS\tTOOL CALLS\tLATENCY P50\tDURATION\tFIRST FAILURE")
	for _, o := range outcomes {
		turns, tools, lat, dur := "-", "-", "-", "-"
		if r := o.Result; r != nil {
			turns, tools, dur = fmt.Sprint(r.Summary.Turns), fmt.Sprint(r.Summary.ToolCalls), seconds(r.Summary.Duration)
			if r.Summary.LatencyP50 > 0 {
				lat = ms(r.Summary.LatencyP50)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clip(sanitize(o.Scenario.Name), 32), result(o), turns, tools, lat, dur,
			clip(sanitize(firstProblem(o)), 72))
	}
	tw.Flush()
	s := summarizeOutcomes(outcomes)
	line := fmt.Sprintf("%d passed, %d failed, %d errors, %s", s.Passed, s.Failed, s.Errors, seconds(time.Duration(s.ElapsedMs)*time.Millisecond))
	if s.Failed+s.Errors > 0 {
		line = st.Error.Render(line)
	}
	fmt.Fprintln(w, line)
}

// scenarioJSON is one scenario in --json.
type scenarioJSON struct {
	Name         string   `json:"name"`
	File         string   `json:"file,omitempty"`
	Result       string   `json:"result"` // passed, failed or error
	Error        string   `json:"error,omitempty"`
	Failures     []string `json:"failures"`
	Notes        []string `json:"notes,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
	CallSID      string   `json:"call_sid,omitempty"`
	Ended        string   `json:"ended,omitempty"`
	Turns        int      `json:"turns"`
	ToolCalls    int      `json:"tool_calls"`
	Interrupts   int      `json:"interruptions"`
	Errors       int      `json:"errors"`        // the model's errors
	CallWarnings int      `json:"call_warnings"` // the call's warnings (not the scenario file's: warnings)
	LatencyP50Ms int64    `json:"latency_p50_ms"`
	LatencyP95Ms int64    `json:"latency_p95_ms"`
	DurationMs   int64    `json:"duration_ms"` // the call
	ElapsedMs    int64    `json:"elapsed_ms"`  // the scenario, setup included
	CostUSD      *float64 `json:"cost_usd,omitempty"`
}

// summaryJSON sums up a run.
type summaryJSON struct {
	Scenarios int   `json:"scenarios"`
	Passed    int   `json:"passed"`
	Failed    int   `json:"failed"`
	Errors    int   `json:"errors"`
	ElapsedMs int64 `json:"elapsed_ms"` // the longest scenario: they run in parallel
}

func summarizeOutcomes(outcomes []*offlinecall.Outcome) summaryJSON {
	s := summaryJSON{Scenarios: len(outcomes)}
	for _, o := range outcomes {
		switch result(o) {
		case resultPassed:
			s.Passed++
		case resultFailed:
			s.Failed++
		default:
			s.Errors++
		}
		s.ElapsedMs = max(s.ElapsedMs, o.Elapsed.Milliseconds())
	}
	return s
}

// writeResultsJSON writes {"scenarios": [...], "summary": {...}}.
func writeResultsJSON(w io.Writer, outcomes []*offlinecall.Outcome) error {
	var doc struct {
		Scenarios []scenarioJSON `json:"scenarios"`
		Summary   summaryJSON    `json:"summary"`
	}
	doc.Scenarios = []scenarioJSON{}
	for _, o := range outcomes {
		j := scenarioJSON{Name: o.Scenario.Name, File: o.Scenario.Path, Result: result(o), Failures: []string{},
			Warnings: o.Scenario.Warnings, ElapsedMs: o.Elapsed.Milliseconds()}
		if o.Err != nil {
			j.Error = o.Err.Error()
		}
		if r := o.Result; r != nil {
			s := r.Summary
			j.Failures = append(j.Failures, r.Failures...)
			j.Notes, j.CallSID, j.Ended = r.Notes, r.CallSID, string(r.Ended.Reason)
			j.Turns, j.ToolCalls, j.Interrupts, j.Errors, j.CallWarnings = s.Turns, s.ToolCalls, s.Interruptions, s.Errors, s.Warnings
			j.LatencyP50Ms, j.LatencyP95Ms, j.DurationMs, j.CostUSD = s.LatencyP50.Milliseconds(), s.LatencyP95.Milliseconds(), s.Duration.Milliseconds(), s.CostUSD
		}
		doc.Scenarios = append(doc.Scenarios, j)
	}
	doc.Summary = summarizeOutcomes(outcomes)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// JUnit XML, as CI systems read it (Jenkins, GitLab, GitHub actions): a testsuites
// root with one testsuite, a testcase per scenario, failure for failed
// expectations, error for a call that could not be made.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"` // ISO 8601, no zone: UTC
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func junitSeconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// writeJUnit writes the results to path as JUnit XML (beside, then renamed).
func writeJUnit(path string, started time.Time, outcomes []*offlinecall.Outcome) error {
	s := summarizeOutcomes(outcomes)
	elapsed := junitSeconds(time.Duration(s.ElapsedMs) * time.Millisecond)
	suite := junitSuite{Name: "callagent simulate", Tests: s.Scenarios, Failures: s.Failed, Errors: s.Errors, Time: elapsed,
		Timestamp: started.UTC().Format("2006-01-02T15:04:05")}
	for _, o := range outcomes {
		class := "callagent.simulate"
		if o.Scenario.Path != "" {
			class = o.Scenario.Path
		}
		c := junitCase{Name: o.Scenario.Name, Classname: class, Time: junitSeconds(o.Elapsed)}
		switch result(o) {
		case resultError:
			c.Error = &junitProblem{Message: firstProblem(o), Type: "error", Text: o.Err.Error()}
		case resultFailed:
			c.Failure = &junitProblem{Message: firstProblem(o), Type: "expectation", Text: strings.Join(o.Result.Failures, "\n")}
		}
		if r := o.Result; r != nil {
			lines := []string{fmt.Sprintf("call %s ended %s: %s, %s, %s", r.CallSID, r.Ended.Reason,
				plural(r.Summary.Turns, "turn"), plural(r.Summary.ToolCalls, "tool call"), seconds(r.Summary.Duration))}
			lines = append(lines, r.Notes...)
			c.SystemOut = strings.Join(append(lines, o.Scenario.Warnings...), "\n")
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Name: suite.Name, Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Time: elapsed,
		Suites: []junitSuite{suite}}
	return atomicfile.Write(path, 0o755, func(w io.Writer) error {
		if _, err := io.WriteString(w, xml.Header); err != nil {
			return err
		}
		enc := xml.NewEncoder(w)
		enc.Indent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
		_, err := io.WriteString(w, "\n")
		return err
	})
}
