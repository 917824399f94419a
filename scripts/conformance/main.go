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
	var unexpected, stale []string
	for _, r := range rejected {
		if !slices.Contains(allowed, r) {
			unexpected = append(unexpected, r)
		}
	}
	for _, a := range allowed {
		if !slices.Contains(rejected, a) {
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

// generate writes each record twice, each on its own line: as the event type
// OpenAI defines for its "type" (Extract from the union: tsc then names the
// member in its errors, and "never" when OpenAI has no such event), and as a deep
// partial of it, so a missing required member cannot hide an unknown or mistyped
// one (tsc reports one error per literal). It returns which record each line holds.
func generate(recs []record) ([]byte, map[int]record) {
	var b bytes.Buffer
	b.WriteString("// Generated by scripts/conformance from the events the Realtime twin recorded. Do not edit.\n")
	b.WriteString(`import type { RealtimeClientEvent, RealtimeServerEvent } from "openai/resources/realtime/realtime";` + "\n")
	b.WriteString("type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;\n")
	line := 4
	lines := map[int]record{}
	for i, r := range recs {
		union := "RealtimeServerEvent"
		if r.Dir == "client" {
			union = "RealtimeClientEvent"
		}
		typ := fmt.Sprintf("Extract<%s, { type: %q }>", union, r.typ)
		fmt.Fprintf(&b, "export const %s%03d: %s = %s;\n", r.Dir, i, typ, r.Event)
		fmt.Fprintf(&b, "export const %s%03dp: DeepPartial<%s> = %s;\n", r.Dir, i, typ, r.Event)
		lines[line], lines[line+1] = r, r
		line += 2
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

// rejections turns tsc's errors into sorted, distinct entries of the form
// "server session.created: TS2353 Object literal may only specify known properties, and '"id"' does not exist in type 'RealtimeSessionCreateRequest'.",
// followed by " — " and tsc's innermost reason when it gives one. Object types are
// shortened to '{…}'; the same error found through the deep partial is kept once.
func rejections(out []byte, lines map[int]record) ([]string, error) {
	type rejection struct{ prefix, msg, reason string }
	var found []*rejection
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			continue
		}
		m := tscError.FindStringSubmatch(l)
		if m == nil {
			if strings.HasPrefix(l, " ") && len(found) > 0 {
				found[len(found)-1].reason = short(strings.TrimSpace(l)) // tsc's reasons nest: the last is the innermost
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
		found = append(found, &rejection{prefix: fmt.Sprintf("%s %s: %s ", r.Dir, r.typ, m[2]), msg: short(m[3])})
	}
	best := map[string]string{} // without the type named: the entry that names one
	for _, f := range found {
		entry := f.prefix + f.msg
		if f.reason != "" {
			entry += " — " + f.reason
		}
		key := inType.ReplaceAllString(entry, "")
		if old, ok := best[key]; !ok || strings.Contains(old, "'{…}'") && !strings.Contains(entry, "'{…}'") {
			best[key] = entry
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
