package loadtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is a server under test: anything that answers Twilio's voice webhook with
// a <Connect><Stream> and relays the stream to the Realtime API at the load test's
// model.
type Target struct {
	// Name labels the target in the report (default: its URL).
	Name string
	// URL is the server's public URL (serve's --public-url): the webhook is
	// URL/incoming-call, unless URL has a path of its own, which is then the
	// webhook. An http URL lets the stream be ws:// (a local server).
	URL string
	// Token signs the requests (X-Twilio-Signature): the auth token the server
	// checks them with.
	Token string
	// PID, when not zero, is the server's process, for its CPU and memory
	// (/proc/PID/stat and /proc/PID/status: Linux).
	PID int
}

func (t Target) webhook() string {
	u, err := url.Parse(t.URL)
	if err == nil && strings.Trim(u.Path, "/") != "" {
		return t.URL
	}
	return strings.TrimRight(t.URL, "/") + "/incoming-call"
}

// Check reports what is wrong with t, in words a user can act on.
func (t Target) Check() error {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target %q is not an http(s) URL: give the server's public URL, e.g. http://127.0.0.1:5050", t.URL)
	}
	if t.Token == "" {
		return fmt.Errorf("target %s has no signing token: give the TWILIO_AUTH_TOKEN the server checks signatures with", t.URL)
	}
	if t.PID < 0 {
		return fmt.Errorf("target %s: pid %d is not a process id", t.URL, t.PID)
	}
	return nil
}

// Options shape a load test. Zero Calls, Utterance, Answer, AnswerTimeout and
// Tool take defaults (Defaults); a zero Ramp, Hold, Pause or BargeAfter is none.
type Options struct {
	Targets []Target
	// Calls is the number of calls per target, all up at once after Ramp.
	Calls int
	// Ramp spreads the calls' starts evenly; Hold is how long all of them stay up.
	// Each call then finishes its turn and hangs up.
	Ramp, Hold time.Duration
	// MinTurns is how many turns each call makes at least, however long that
	// takes past Hold (0: as many as fit).
	MinTurns int
	// Utterance is how long the caller speaks each turn, Answer how long each answer
	// lasts, Pause the caller's silence after an answer has played.
	Utterance, Answer, Pause time.Duration
	// BargeEvery makes every n-th answer one the caller speaks over, after hearing
	// BargeAfter of it (0: never).
	BargeEvery int
	BargeAfter time.Duration
	// ToolEvery makes the model call Tool with ToolArgs at every n-th turn before
	// answering (0: never). The server under test must have the tool.
	ToolEvery      int
	Tool, ToolArgs string
	// OmitSilence makes the callers' carrier suppress silence; PlayDelay is the
	// phone leg's delay before the caller hears audio (twiliotest).
	OmitSilence bool
	PlayDelay   time.Duration
	// AnswerTimeout is how long beyond its length an answer may take before the
	// call fails ("no answer").
	AnswerTimeout time.Duration
	// Status, when set, hears progress lines (a run starting, calls up).
	Status func(string)
}

// Defaults fills the zero values that have a default.
func (o *Options) Defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.Calls == 0 {
		o.Calls = 10
	}
	def(&o.Utterance, time.Second)
	def(&o.Answer, 2*time.Second)
	def(&o.PlayDelay, 80*time.Millisecond)
	def(&o.AnswerTimeout, 10*time.Second)
	if o.Tool == "" {
		o.Tool, o.ToolArgs = "weather", `{"city":"Paris"}`
	}
}

// Check reports options a run cannot use.
func (o *Options) Check() error {
	if len(o.Targets) == 0 {
		return errors.New("no target: give the server to load with --target URL")
	}
	if len(o.Targets) > 200 {
		return errors.New("at most 200 targets in one run")
	}
	for _, t := range o.Targets {
		if err := t.Check(); err != nil {
			return err
		}
	}
	switch {
	case o.Calls < 1 || o.Calls > 10000:
		return fmt.Errorf("calls %d: give 1 to 10000", o.Calls)
	case o.Ramp < 0 || o.Hold < 0 || o.Pause < 0 || o.BargeAfter < 0:
		return errors.New("durations cannot be negative")
	case o.Utterance < 20*time.Millisecond || o.Answer < 20*time.Millisecond:
		return errors.New("an utterance and an answer last at least 20 ms")
	case o.Answer > 20*time.Minute || o.Utterance > 20*time.Minute:
		return errors.New("an utterance or an answer longer than 20 minutes is not a turn")
	case o.MinTurns < 0 || o.MinTurns > 10000:
		return fmt.Errorf("turns %d: give 0 to 10000", o.MinTurns)
	case o.BargeEvery < 0 || o.ToolEvery < 0:
		return errors.New("--barge-every and --tool-every cannot be negative")
	case o.BargeEvery > 0 && o.BargeAfter >= o.Answer:
		return fmt.Errorf("a barge-in after %v of a %v answer never speaks over it: lower --barge-after", o.BargeAfter, o.Answer)
	}
	return nil
}

// targetRun is one target's part of a run.
type targetRun struct {
	id            uint32
	target        Target
	callerToModel samples
	modelToCaller samples
	clearLatency  samples
	active        atomic.Int64
}

// Run loads each target in turn (one after the other, so each has the machine to
// itself, all in one report) with o.Calls calls against model m. The server under
// test must reach m (m.BaseURL) as its OpenAI base URL.
func Run(ctx context.Context, m *Model, o Options) (*Report, error) {
	o.Defaults()
	if err := o.Check(); err != nil {
		return nil, err
	}
	rep := &Report{Calls: o.Calls, Ramp: o.Ramp.String(), Hold: o.Hold.String(), BargeEvery: o.BargeEvery, ToolEvery: o.ToolEvery,
		OmitSilence: o.OmitSilence}
	for i, t := range o.Targets {
		if t.Name == "" {
			t.Name = t.URL
		}
		tr, err := runTarget(ctx, m, &o, uint8(i), t)
		if err != nil {
			return nil, err
		}
		rep.Targets = append(rep.Targets, *tr)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	return rep, nil
}

var runIDs atomic.Uint32

func runTarget(ctx context.Context, m *Model, o *Options, ti uint8, t Target) (*TargetReport, error) {
	r := &targetRun{id: uint32(time.Now().Unix()) ^ runIDs.Add(1)<<24, target: t}
	calls := make([]*call, o.Calls)
	for i := range calls {
		calls[i] = newCall(o, r, ti, uint16(i))
	}
	m.register(calls)
	status := func(format string, a ...any) {
		if o.Status != nil {
			o.Status(fmt.Sprintf(format, a...))
		}
	}
	self0, _ := readProc(os.Getpid())
	var idle procSample
	if t.PID != 0 {
		var err error
		if idle, err = readProc(t.PID); err != nil {
			return nil, err
		}
	}
	status("%s: %d calls, ramp %v, hold %v", t.Name, o.Calls, o.Ramp, o.Hold)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	start := time.Now()
	endAt := start.Add(o.Ramp + o.Hold)

	// The target's memory, sampled through the run: its peak is taken at full
	// concurrency.
	var peak procSample
	peakCalls := int64(0)
	var sampler sync.WaitGroup
	stopSampling := make(chan struct{})
	if t.PID != 0 {
		sampler.Go(func() {
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stopSampling:
					return
				case <-tick.C:
				}
				s, err := readProc(t.PID)
				if err != nil {
					continue
				}
				if a := r.active.Load(); a > peakCalls || a == peakCalls && s.rssKB > peak.rssKB {
					peak, peakCalls = s, a
				}
			}
		})
	}
	var wg sync.WaitGroup
	for i, c := range calls {
		at := start.Add(time.Duration(int64(o.Ramp) * int64(i) / int64(o.Calls)))
		wg.Go(func() {
			select {
			case <-time.After(time.Until(at)):
			case <-ctx.Done():
				c.fail("interrupted")
				return
			}
			c.talk(ctx, client, endAt)
		})
	}
	var progress sync.WaitGroup
	stopProgress := make(chan struct{})
	progress.Go(func() {
		// One progress line when every call is up (or the ramp is long over).
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		limit := time.NewTimer(o.Ramp + 10*time.Second)
		defer limit.Stop()
		for {
			select {
			case <-tick.C:
				if r.active.Load() < int64(o.Calls) {
					continue
				}
				status("%s: %d calls up", t.Name, o.Calls)
			case <-limit.C:
				status("%s: %d of %d calls up", t.Name, r.active.Load(), o.Calls)
			case <-stopProgress:
			}
			return
		}
	})
	wg.Wait()
	close(stopProgress)
	progress.Wait()
	close(stopSampling)
	sampler.Wait()
	var end procSample
	if t.PID != 0 {
		var err error
		if end, err = readProc(t.PID); err != nil {
			return nil, err
		}
	}
	// The model's side of the last calls settles (truncations in flight).
	time.Sleep(100 * time.Millisecond)
	tr := r.report(calls, o)
	tr.Elapsed = round(time.Since(start).Seconds())
	if self1, err := readProc(os.Getpid()); err == nil && self0.cpu > 0 {
		tr.GeneratorCPUSeconds = round((self1.cpu - self0.cpu).Seconds())
	}
	tr.LoadAverage = loadAverage()
	if t.PID != 0 {
		tr.Process = processReport(idle, peak, end, peakCalls, tr.CallMinutes)
	}
	return tr, nil
}

// FrameCount is one direction's marked frames. Sent counts the frames the relay
// had to deliver: not the tail of an answer the caller spoke over, which a relay
// rightly drops once the model has heard the caller.
type FrameCount struct {
	Sent     int `json:"sent"`
	Received int `json:"received"`
	Lost     int `json:"lost"`
	Damaged  int `json:"damaged"`
}

// ProcessReport is the target's weight, from /proc.
type ProcessReport struct {
	PID                  int     `json:"pid,omitempty"`
	IdleRSSKB            int64   `json:"idle_rss_kb"`
	PeakRSSKB            int64   `json:"peak_rss_kb"`
	PeakCalls            int64   `json:"peak_calls"`
	RSSPerCallKB         float64 `json:"rss_per_call_kb"`
	CPUSeconds           float64 `json:"cpu_seconds"`
	CPUSecondsPerCallMin float64 `json:"cpu_seconds_per_call_minute"`
	// What the CPU time went on, per second of call (zero where /proc does not
	// show it): read and write system calls (sockets, files), and context
	// switches, each a thread that went to sleep or was preempted. These count the
	// work a relay does per frame without the noise of CPU time on a shared
	// machine: at this load a relay's CPU is mostly the kernel's and the
	// scheduler's, once per system call and wake-up.
	ReadsPerCallSecond    float64 `json:"reads_per_call_second,omitempty"`
	WritesPerCallSecond   float64 `json:"writes_per_call_second,omitempty"`
	SwitchesPerCallSecond float64 `json:"context_switches_per_call_second,omitempty"`
}

// TargetReport is what one target did under load.
type TargetReport struct {
	Name      string         `json:"name"`
	URL       string         `json:"url"`
	Calls     int            `json:"calls"`
	Completed int            `json:"completed"`
	Failures  map[string]int `json:"failures"`
	// ModelReached is how many calls reached the load test's model: none means
	// the target is not pointed at it (its OpenAI base URL).
	ModelReached  int     `json:"model_reached"`
	Elapsed       float64 `json:"elapsed_seconds"`
	CallMinutes   float64 `json:"call_minutes"`
	CallerToModel Dist    `json:"caller_to_model"`
	ModelToCaller Dist    `json:"model_to_caller"`
	// BargeIns is how many times a caller spoke over an answer still playing,
	// Cleared how many of them were followed by a clear (an answer that played out
	// before the relay heard the caller has nothing left to clear); ClearLatency runs from the caller's first
	// frame of speech to the clear.
	BargeIns     int  `json:"barge_ins"`
	Cleared      int  `json:"barge_ins_cleared"`
	ClearLatency Dist `json:"clear_latency"`
	// Truncation is audio_end_ms the model was told minus what the caller had
	// heard when the clear came (positive: the model believes more was heard).
	Truncation         Dist           `json:"truncation_error"`
	TruncationsUnheard int            `json:"truncations_unmatched"`
	ToolCalls          int            `json:"tool_calls"`
	ToolAnswers        int            `json:"tool_answers"`
	CallerFrames       FrameCount     `json:"caller_frames"`
	AgentFrames        FrameCount     `json:"agent_frames"`
	Process            *ProcessReport `json:"process,omitempty"`
	// GeneratorCPUSeconds is the load test's own CPU time for this target, and
	// LoadAverage the machine's 1-minute load average at its end: a generator
	// short of CPU, or a busy machine, shows in every latency.
	GeneratorCPUSeconds float64 `json:"generator_cpu_seconds"`
	LoadAverage         float64 `json:"load_average"`
}

// Report is a run's result: one entry per target, in order.
type Report struct {
	Calls       int            `json:"calls"`
	Ramp        string         `json:"ramp"`
	Hold        string         `json:"hold"`
	BargeEvery  int            `json:"barge_every"`
	ToolEvery   int            `json:"tool_every"`
	OmitSilence bool           `json:"omit_silence"`
	Targets     []TargetReport `json:"targets"`
}

func (r *targetRun) report(calls []*call, o *Options) *TargetReport {
	tr := &TargetReport{Name: r.target.Name, URL: r.target.URL, Calls: len(calls), Failures: map[string]int{},
		CallerToModel: r.callerToModel.dist(), ModelToCaller: r.modelToCaller.dist(), ClearLatency: r.clearLatency.dist()}
	var trunc []float64
	for _, c := range calls {
		c.mu.Lock()
		if c.failure != "" {
			tr.Failures[c.failure]++
		} else {
			tr.Completed++
		}
		if !c.began.IsZero() && !c.ended.IsZero() {
			tr.CallMinutes += c.ended.Sub(c.began).Minutes()
		}
		if len(c.conns) > 0 {
			tr.ModelReached++
		}
		tr.BargeIns += c.bargeIns
		tr.Cleared += c.cleared
		tr.ToolCalls += c.tools
		tr.ToolAnswers += c.toolAnswers
		cf := FrameCount{Sent: c.callerSentN, Received: c.callerGotN, Damaged: c.callerBroken}
		cf.Lost = max(0, cf.Sent-cf.Received-cf.Damaged)
		af := c.agentFrameCount()
		tr.CallerFrames.add(cf)
		tr.AgentFrames.add(af)
		conns := slices.Clone(c.conns)
		items, heard := maps.Clone(c.items), maps.Clone(c.heard)
		c.mu.Unlock()
		for _, mc := range conns {
			for _, t := range mc.Truncations() {
				resp, ok := items[t.ItemID]
				h, heardOK := heard[resp]
				if !ok || !heardOK {
					tr.TruncationsUnheard++
					continue
				}
				trunc = append(trunc, float64(t.AudioEndMs)-h)
			}
		}
	}
	tr.CallMinutes = round(tr.CallMinutes)
	tr.Truncation = distOf(trunc)
	return tr
}

func (f *FrameCount) add(g FrameCount) {
	f.Sent += g.Sent
	f.Received += g.Received
	f.Lost += g.Lost
	f.Damaged += g.Damaged
}

func processReport(idle, peak, end procSample, peakCalls int64, callMinutes float64) *ProcessReport {
	p := &ProcessReport{IdleRSSKB: idle.rssKB, PeakRSSKB: peak.rssKB, PeakCalls: peakCalls,
		CPUSeconds: round((end.cpu - idle.cpu).Seconds())}
	if peakCalls > 0 {
		p.RSSPerCallKB = round(float64(peak.rssKB-idle.rssKB) / float64(peakCalls))
	}
	if callMinutes > 0 {
		p.CPUSecondsPerCallMin = round(p.CPUSeconds / callMinutes)
		callSeconds := callMinutes * 60
		if idle.haveIO && end.haveIO {
			p.ReadsPerCallSecond = round(float64(end.reads-idle.reads) / callSeconds)
			p.WritesPerCallSecond = round(float64(end.writes-idle.writes) / callSeconds)
		}
		if idle.haveSw && end.haveSw {
			// Summed over the threads alive at each reading: one that exited meanwhile
			// takes its count with it, so the difference is a floor, never below 0.
			p.SwitchesPerCallSecond = round(float64(max(end.switches-idle.switches, 0)) / callSeconds)
		}
	}
	return p
}
