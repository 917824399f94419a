// Command conformance type-checks the Realtime and GPT-Live events recorded during
// the tests against OpenAI's published TypeScript types.
//
// The twins record each distinct shape of client event they receive and server
// event they send when CALLAGENT_CONFORMANCE_DIR is set: the Realtime twin
// (pkg/realtime/realtimetest) in events-PID.jsonl, the Live twin (pkg/live/livetest)
// in live-events-PID.jsonl; both, and the webhook-endpoints fake, record the SIP side's
// bodies in sip-PID.jsonl (webhooks sent, typed by their type from UnwrapWebhookEvent;
// call-control and endpoint requests accepted, typed by their kind: sipTypes). This program turns those records into
// conformance/generated/events.ts, one object literal per shape typed
// RealtimeClientEvent or RealtimeServerEvent from openai/resources/realtime/realtime,
// or ClientEvent or ServerEvent from openai/resources/live/live, of the pinned
// `openai` package (so a member OpenAI does not define is an excess-property error),
// runs `tsc --noEmit --strict` in conformance/, and compares what tsc rejects with
// conformance/known-rejections.txt: a rejection not on the list fails, and so does
// an entry that no longer occurs. It fails too when either protocol has no record:
// a check of nothing is not a pass.
//
//	go run ./scripts/conformance -records DIR
//
// It needs `npm ci` in conformance/ first; .ci/run does both. It is a development
// tool, not part of the callagent binary.
package main

import (
	"bufio"
	"bytes"
	"cmp"
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
	api   string // "realtime" or "live"
}

// apis are the protocols checked: the record files of each, the module of its
// types, and the names of its unions in that module (imported as aliases).
var apis = []struct {
	name, files, module, client, server string
}{
	{"realtime", "events-*.jsonl", "openai/resources/realtime/realtime", "RealtimeClientEvent", "RealtimeServerEvent"},
	{"live", "live-events-*.jsonl", "openai/resources/live/live", "ClientEvent", "ServerEvent"},
	{"sip", "sip-*.jsonl", "", "", ""},
}

// sipTypes are the TypeScript types of the SIP side's bodies, by the kind the
// twins record in place of a direction (eventrecord.SIPPrefix): webhooks are typed
// by their "type" from UnwrapWebhookEvent.
var sipTypes = map[string]string{
	"realtime.calls.accept":     "CallAcceptParams",
	"realtime.calls.reject":     "CallRejectParams",
	"realtime.calls.refer":      "CallReferParams",
	"live.sessions.accept":      "SessionAcceptParams",
	"live.sessions.reject":      "SessionRejectParams",
	"live.sessions.refer":       "SessionReferParams",
	"webhook_endpoints.create":  "WebhookCreateParams",
	"webhook_endpoints.created": "WebhookEndpointWithSecret",
	"webhook_endpoints.list":    "WebhookEndpointList",
}

// label is how a record's rejections are named: Live ones carry "live ", so the
// two protocols' known rejections cannot be confused.
func (r record) label() string {
	if r.api == "live" || r.api == "sip" {
		return r.api + " " + r.Dir
	}
	return r.Dir
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
	for _, api := range apis {
		if !slices.ContainsFunc(recs, func(r record) bool { return r.api == api.name }) {
			return fmt.Errorf("no %s events recorded in %s (%s): was %s set for the tests, and did they run the %s twin?",
				api.name, *records, api.files, "CALLAGENT_CONFORMANCE_DIR", api.name)
		}
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
	counts := map[string]int{}
	for _, r := range recs {
		counts[r.api+" "+r.Dir]++
	}
	version, _ := os.ReadFile(filepath.Join(*project, "node_modules", "openai", "package.json"))
	var pkg struct{ Version string }
	_ = json.Unmarshal(version, &pkg)
	sip := 0
	for _, r := range recs {
		if r.api == "sip" {
			sip++
		}
	}
	fmt.Fprintf(stdout, "conformance: Realtime %d client and %d server, Live %d client and %d server event shapes, %d SIP webhook and call-control body shapes checked against openai@%s: %d rejections, %d known\n",
		counts["realtime client"], counts["realtime server"], counts["live client"], counts["live server"], sip,
		pkg.Version, len(rejected), len(rejected)-len(unexpected))
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
	seen := map[string]bool{}
	var recs []record
	for _, api := range apis {
		files, err := filepath.Glob(filepath.Join(dir, api.files))
		if err != nil {
			return nil, err
		}
		var err2 error
		recs, err2 = readFiles(files, api.name, seen, recs)
		if err2 != nil {
			return nil, err2
		}
	}
	slices.SortFunc(recs, func(a, b record) int {
		return strings.Compare(a.api+" "+a.Dir+" "+a.Shape, b.api+" "+b.Dir+" "+b.Shape)
	})
	return recs, nil
}

func readFiles(files []string, api string, seen map[string]bool, recs []record) ([]record, error) {
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
			r.api = api
			key := api + " " + r.Dir + " " + r.Shape
			if !seen[key] {
				seen[key] = true
				recs = append(recs, r)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return recs, nil
}

// generate writes each record three times, each on its own line, typed from the
// member of OpenAI's union with its "type" (tsc then names the member, and says
// "never" when OpenAI has no such event): as it is; as a deep partial, where only
// unknown and mistyped members fail; and as a deep loose type, where unknown members
// pass (so missing ones are reported; primitives stay as they are, so an open
// string type like the model's (string & {}) | 'gpt-live-1' stays open). tsc reports one error per literal: each
// kind of rejection has a line where no other kind hides it. It returns which
// record each line holds.
func generate(recs []record) ([]byte, map[int]record) {
	var b bytes.Buffer
	b.WriteString(`// Generated by scripts/conformance from the events the twins recorded. Do not edit.
import type { RealtimeClientEvent, RealtimeServerEvent } from "openai/resources/realtime/realtime";
import type { ClientEvent as LiveClientEvent, ServerEvent as LiveServerEvent } from "openai/resources/live/live";
import type { UnwrapWebhookEvent, WebhookCreateParams, WebhookEndpointWithSecret, WebhookEndpointList } from "openai/resources/webhooks/webhooks";
import type { CallAcceptParams, CallRejectParams, CallReferParams } from "openai/resources/realtime/calls";
import type { SessionAcceptParams, SessionRejectParams, SessionReferParams } from "openai/resources/live/sessions";
type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
type DeepLoose<T> = T extends string | number | boolean | null | undefined ? T : T extends readonly (infer U)[] ? DeepLoose<U>[] : T extends object ? { [K in keyof T]: DeepLoose<T[K]> } & { [k: string]: unknown } : T;
`)
	line := bytes.Count(b.Bytes(), []byte("\n")) + 1 // the first event's line
	lines := map[int]record{}
	for i, r := range recs {
		api := cmp.Or(r.api, "realtime")
		union := map[string]string{"realtime client": "RealtimeClientEvent", "realtime server": "RealtimeServerEvent",
			"live client": "LiveClientEvent", "live server": "LiveServerEvent", "sip webhook": "UnwrapWebhookEvent"}[api+" "+r.Dir]
		typ := fmt.Sprintf("Extract<%s, { type: %q }>", union, r.typ)
		if t, ok := sipTypes[r.Dir]; ok && api == "sip" {
			typ = t
		} else if union == "" {
			typ = "never" // a kind this program does not know: tsc rejects it, and the check fails
		}
		name := api + "_" + strings.NewReplacer(".", "_").Replace(r.Dir)
		fmt.Fprintf(&b, "export const %s%03d: %s = %s;\n", name, i, typ, r.Event)
		fmt.Fprintf(&b, "export const %s%03dp: DeepPartial<%s> = %s;\n", name, i, typ, r.Event)
		fmt.Fprintf(&b, "export const %s%03dl: DeepLoose<%s> = %s;\n", name, i, typ, r.Event)
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

// rejections turns tsc's errors into sorted, distinct entries "DIR TYPE: REASON"
// ("live DIR TYPE: REASON" for Live events),
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
		found = append(found, fmt.Sprintf("%s %s: %s", r.label(), r.typ, short(m[3])))
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
