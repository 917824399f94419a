// Command conformance type-checks the Realtime events recorded during the tests
// against OpenAI's published TypeScript types.
//
// The Realtime twin (pkg/realtime/realtimetest) records each distinct shape of
// client event it receives and server event it sends when CALLAGENT_CONFORMANCE_DIR
// is set. This program turns those records into conformance/generated/events.ts,
// one object literal per shape typed RealtimeClientEvent or RealtimeServerEvent
// from the pinned `openai` package (so a member OpenAI does not define is an
// excess-property error), runs `tsc --noEmit --strict` in conformance/, and
// compares what tsc rejects with conformance/known-rejections.txt: a rejection not
// on the list fails, and so does an entry that no longer occurs.
//
//	go run ./scripts/conformance -records DIR
//
// It needs `npm ci` in conformance/ first; .ci/run does both. It is a development
// tool, not part of the callagent binary.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

// record is one line of the twin's record (realtimetest's conformance.go).
type record struct {
	Dir   string          `json:"dir"` // client or server
	Shape string          `json:"shape"`
	Event json.RawMessage `json:"event"`
	typ   string
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	records := fs.String("records", "", "directory of the twin's events-*.jsonl records (CALLAGENT_CONFORMANCE_DIR)")
	project := fs.String("project", "conformance", "the Node project with the pinned openai and typescript packages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *records == "" {
		return errors.New("-records DIR is required")
	}
	recs, err := readRecords(*records)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("no events recorded in %s: was %s set for the tests?", *records, "CALLAGENT_CONFORMANCE_DIR")
	}
	ts, lines := generate(recs)
	gen := filepath.Join(*project, "generated", "events.ts")
	if err := os.MkdirAll(filepath.Dir(gen), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(gen, ts, 0o644); err != nil {
		return err
	}
	tsc := exec.Command(filepath.Join("node_modules", ".bin", "tsc"), "-p", ".", "--pretty", "false")
	tsc.Dir = *project
	out, tscErr := tsc.CombinedOutput()
	rejected, err := rejections(out, lines)
	if err != nil {
		return err
	}
	if tscErr != nil && len(rejected) == 0 {
		return fmt.Errorf("tsc: %v\n%s", tscErr, out)
	}
	allowed, err := readAllowlist(filepath.Join(*project, "known-rejections.txt"))
	if err != nil {
		return err
	}
	known, occurring := map[string]bool{}, map[string]bool{}
	for _, a := range allowed {
		known[canonical(a)] = true
	}
	var unexpected, stale []string
	for _, r := range rejected {
		occurring[canonical(r)] = true
		if !known[canonical(r)] {
			unexpected = append(unexpected, r)
		}
	}
	for _, a := range allowed {
		if !occurring[canonical(a)] {
			stale = append(stale, a)
		}
	}
	client, server := 0, 0
	for _, r := range recs {
		if r.Dir == "client" {
			client++
		} else {
			server++
		}
	}
	version, _ := os.ReadFile(filepath.Join(*project, "node_modules", "openai", "package.json"))
	var pkg struct{ Version string }
	_ = json.Unmarshal(version, &pkg)
	fmt.Fprintf(stdout, "conformance: %d client and %d server event shapes checked against openai@%s: %d rejections, %d known\n",
		client, server, pkg.Version, len(rejected), len(rejected)-len(unexpected))
	if len(unexpected) == 0 && len(stale) == 0 {
		return nil
	}
	for _, r := range unexpected {
		fmt.Fprintln(stdout, "  rejected by OpenAI's types:", r)
	}
	for _, r := range stale {
		fmt.Fprintln(stdout, "  no longer rejected (remove from known-rejections.txt):", r)
	}
	if len(unexpected) > 0 {
		fmt.Fprintf(stdout, "  see %s for the events\n", gen)
	}
	return fmt.Errorf("%d new rejections, %d stale known rejections", len(unexpected), len(stale))
}

// readRecords reads every record file and keeps one event per shape (the test
// processes each wrote their own), ordered by direction, type and shape.
func readRecords(dir string) ([]record, error) {
	files, err := filepath.Glob(filepath.Join(dir, "events-*.jsonl"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var recs []record
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var r record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			var head struct{ Type string }
			_ = json.Unmarshal(r.Event, &head)
			r.typ = head.Type
			key := r.Dir + " " + r.Shape
			if !seen[key] {
				seen[key] = true
				recs = append(recs, r)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	slices.SortFunc(recs, func(a, b record) int {
		return strings.Compare(a.Dir+" "+a.Shape, b.Dir+" "+b.Shape)
	})
	return recs, nil
}

// generate writes each record three times, each on its own line, typed from the
// member of OpenAI's union with its "type" (tsc then names the member, and says
// "never" when OpenAI has no such event): as it is; as a deep partial, where only
// unknown and mistyped members fail; and as a deep loose type, where unknown members
// pass (so missing ones are reported). tsc reports one error per literal: each
// kind of rejection has a line where no other kind hides it. It returns which
// record each line holds.
func generate(recs []record) ([]byte, map[int]record) {
	var b bytes.Buffer
	b.WriteString(`// Generated by scripts/conformance from the events the Realtime twin recorded. Do not edit.
import type { RealtimeClientEvent, RealtimeServerEvent } from "openai/resources/realtime/realtime";
type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
type DeepLoose<T> = T extends readonly (infer U)[] ? DeepLoose<U>[] : T extends object ? { [K in keyof T]: DeepLoose<T[K]> } & { [k: string]: unknown } : T;
`)
	line := 5
	lines := map[int]record{}
	for i, r := range recs {
		union := "RealtimeServerEvent"
		if r.Dir == "client" {
			union = "RealtimeClientEvent"
		}
		typ := fmt.Sprintf("Extract<%s, { type: %q }>", union, r.typ)
		fmt.Fprintf(&b, "export const %s%03d: %s = %s;\n", r.Dir, i, typ, r.Event)
		fmt.Fprintf(&b, "export const %s%03dp: DeepPartial<%s> = %s;\n", r.Dir, i, typ, r.Event)
		fmt.Fprintf(&b, "export const %s%03dl: DeepLoose<%s> = %s;\n", r.Dir, i, typ, r.Event)
		lines[line], lines[line+1], lines[line+2] = r, r, r
		line += 3
	}
	return b.Bytes(), lines
}

var (
	tscError = regexp.MustCompile(`^generated/events\.ts\((\d+),\d+\): error (TS\d+): (.*)$`)
	// objectType is an object type tsc spells out in a message: the event as
	// written, which differs from shape to shape; tsc quotes literals inside it
	// with double quotes.
	objectType = regexp.MustCompile(`'[{(][^']*'`)
	inType     = regexp.MustCompile(` (in|from) type '[^']*'`)
)

// rejections turns tsc's errors into sorted, distinct entries "DIR TYPE: REASON",
// REASON being tsc's innermost one, object types shortened to '{…}', e.g.
// "server session.created: Object literal may only specify known properties, and '"id"' does not exist in type 'RealtimeSessionCreateRequest'."
// The same rejection found on several lines of an event is kept once, in the
// spelling that names the most types.
func rejections(out []byte, lines map[int]record) ([]string, error) {
	var found []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			continue
		}
		m := tscError.FindStringSubmatch(l)
		if m == nil {
			if strings.HasPrefix(l, " ") && len(found) > 0 {
				// tsc's reasons nest: the last is the innermost.
				e := found[len(found)-1]
				found[len(found)-1] = e[:strings.Index(e, ": ")+2] + short(strings.TrimSpace(l))
				continue
			}
			return nil, fmt.Errorf("tsc: %s", l)
		}
		var line int
		fmt.Sscan(m[1], &line)
		r, ok := lines[line]
		if !ok {
			return nil, fmt.Errorf("tsc, on no event: %s", l)
		}
		found = append(found, fmt.Sprintf("%s %s: %s", r.Dir, r.typ, short(m[3])))
	}
	best := map[string]string{}
	for _, e := range found {
		k := canonical(e)
		if old, ok := best[k]; !ok || strings.Count(e, "'{…}'") < strings.Count(old, "'{…}'") {
			best[k] = e
		}
	}
	var entries []string
	for _, e := range best {
		entries = append(entries, e)
	}
	slices.Sort(entries)
	return entries, nil
}

func short(msg string) string { return objectType.ReplaceAllString(msg, "'{…}'") }

// canonical is an entry without the types tsc names, which depend on the line
// that found it: entries are compared, and known rejections matched, this way.
func canonical(entry string) string { return inType.ReplaceAllString(entry, "") }

// readAllowlist reads known-rejections.txt: "#" comment lines, and entries as
// rejections prints them, each followed by " # " and why it is known.
func readAllowlist(name string) ([]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var entries []string
	for n, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndex(l, " # ")
		if i < 0 || strings.TrimSpace(l[i+3:]) == "" {
			return nil, fmt.Errorf("%s:%d: an entry needs a reason after \" # \"", name, n+1)
		}
		entries = append(entries, strings.TrimSpace(l[:i]))
	}
	return entries, nil
}
