package server

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callagent/callagent/pkg/session"
)

// Warm model sessions (Config.WarmSessions > 0): each instance keeps a few model
// connections dialed ahead of demand, and a media stream takes one whichever
// instance answered its webhook. Behind a load balancer the webhook and the stream
// of a call often reach different instances; a session dialed for the webhook
// would then be wasted and the stream would dial again. With the pool the webhook
// dials nothing: a call dials the model at most once (when the pool is empty), and
// a warm connection is taken by exactly one call and closed with it.
//
// A warm connection has received nothing from callagent: the call's session sends
// its first session.update (which states the whole session) when it takes it, so
// no call's settings can reach another call. The session sends that update
// without waiting for the answer, so configuring ahead would save no time. A
// Realtime connection is watched while it waits (warmwatch.go); a GPT-Live one
// cannot be before its session.start, so the pool is not kept for Live dials
// (Config.LiveDial: warmOnlyRealtime) and a non-Realtime leg given here
// otherwise is pooled unwatched.
//
// The Realtime API's session lifetime (60 minutes) runs from the connection, idle
// or not: a warm connection is recycled after WarmMaxAge, so a call that takes
// one has the whole lifetime but WarmMaxAge.
//
// The pool's size follows the calls: enough connections for the calls expected
// while one is dialed (the recent rate of takes times the recent dial time, twice
// over), at least WarmMin and at most WarmSessions, refilled at once when one is
// taken. Failed dials back off (1 s doubling to 30 s).

const (
	defaultWarmMaxAge = 2 * time.Minute
	warmRateWindow    = time.Minute
	warmTick          = time.Second
	warmBackoffMax    = 30 * time.Second
)

// warmOnlyRealtime turns warm sessions off for GPT-Live dials, saying so. A warm
// Realtime connection is read while it waits, so one closed meanwhile is never
// handed to a call; a GPT-Live connection cannot be watched before its session
// starts, and how long the API keeps one unstarted is not known: each call dials
// its own (the webhook's pre-dial).
func warmOnlyRealtime(cfg *Config) {
	if cfg.WarmSessions <= 0 || !cfg.LiveDial {
		return
	}
	if cfg.Logger != nil {
		cfg.Logger.Info("warm sessions are for the Realtime engine: with GPT-Live each call dials its model when its webhook is answered")
	}
	cfg.WarmSessions = 0
}

type warmLeg struct {
	leg session.ModelLeg
	at  time.Time
}

type warmPool struct {
	s      *Server
	max    int
	min    int
	maxAge time.Duration

	mu       sync.Mutex
	idle     []warmLeg // oldest first
	dialing  int
	stopped  bool
	takes    []time.Time // within warmRateWindow
	dialTime time.Duration
	backoff  time.Duration
	retryAt  time.Time
	wake     chan struct{}
	cancel   context.CancelFunc
	ctx      context.Context

	idleGauge prometheus.Gauge
	outcomes  *prometheus.CounterVec
}

func newWarmPool(s *Server, reg prometheus.Registerer) *warmPool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &warmPool{s: s, max: s.cfg.WarmSessions, min: min(s.cfg.WarmMin, s.cfg.WarmSessions), maxAge: s.cfg.WarmMaxAge,
		dialTime: time.Second, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		idleGauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "callagent_warm_sessions",
			Help: "Model sessions dialed ahead of demand, waiting for a media stream (bounded by --warm-sessions)."}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_warm_sessions_total",
			Help: "Warm model sessions by outcome (taken by a stream; missed: a stream found none and dialed; " +
				"recycled: closed unused at --warm-max-age; failed: the dial failed; dead: the model or the network closed it while it waited; " +
				"closed: unused at shutdown)."}, []string{"outcome"}),
	}
	reg.MustRegister(p.idleGauge, p.outcomes)
	return p
}

// start runs the pool's keeper until stop.
func (p *warmPool) start() {
	p.s.wg.Go(p.keep)
}

// stop closes the idle connections, and those still being dialed when they
// arrive; nothing is dialed after it.
func (p *warmPool) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	idle := p.idle
	p.idle = nil
	p.idleGauge.Set(0)
	p.mu.Unlock()
	p.cancel()
	for _, w := range idle {
		p.outcomes.WithLabelValues("closed").Inc()
		p.closeLeg(w.leg)
	}
}

// take returns a warm connection for a stream, or nil when there is none.
func (p *warmPool) take() session.ModelLeg {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.takes = append(p.takes, now)
	defer p.poke()
	for len(p.idle) > 0 {
		w := p.idle[0]
		p.idle = p.idle[1:]
		p.idleGauge.Set(float64(len(p.idle)))
		if wl, ok := w.leg.(*watchedLeg); ok && !wl.take() {
			p.outcomes.WithLabelValues("dead").Inc()
			p.closeLeg(w.leg)
			continue
		}
		if now.Sub(w.at) < p.maxAge {
			p.outcomes.WithLabelValues("taken").Inc()
			return w.leg
		}
		p.outcomes.WithLabelValues("recycled").Inc()
		p.closeLeg(w.leg)
	}
	p.outcomes.WithLabelValues("missed").Inc()
	return nil
}

func (p *warmPool) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// keep recycles old connections and dials up to the target, on each take and
// every second.
func (p *warmPool) keep() {
	t := time.NewTicker(warmTick)
	defer t.Stop()
	for {
		p.tend(time.Now())
		select {
		case <-p.ctx.Done():
			return
		case <-p.wake:
		case <-t.C:
		}
	}
}

// target is the pool's size for the recent calls. Caller holds p.mu.
func (p *warmPool) targetLocked(now time.Time) int {
	i := 0
	for i < len(p.takes) && now.Sub(p.takes[i]) > warmRateWindow {
		i++
	}
	p.takes = p.takes[i:]
	// The busier of the last minute and the last ten seconds: a burst raises the
	// pool at once, a quiet minute lowers it.
	rate := float64(len(p.takes)) / warmRateWindow.Seconds()
	recent := 0
	for _, at := range p.takes {
		if now.Sub(at) <= 10*time.Second {
			recent++
		}
	}
	rate = max(rate, float64(recent)/10)
	n := p.min + int(math.Ceil(2*rate*p.dialTime.Seconds()))
	return max(p.min, min(n, p.max))
}

func (p *warmPool) tend(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	for len(p.idle) > 0 && now.Sub(p.idle[0].at) >= p.maxAge {
		p.outcomes.WithLabelValues("recycled").Inc()
		p.closeLeg(p.idle[0].leg)
		p.idle = p.idle[1:]
	}
	p.idleGauge.Set(float64(len(p.idle)))
	if now.Before(p.retryAt) {
		return
	}
	for n := p.targetLocked(now); len(p.idle)+p.dialing < n; {
		p.dialing++
		p.s.wg.Go(p.dialOne)
	}
}

// dialOne dials one warm connection.
func (p *warmPool) dialOne() {
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	defer cancel()
	t0 := time.Now()
	leg, err := p.s.cfg.Dial(ctx, "")
	took := time.Since(t0)
	p.mu.Lock()
	p.dialing--
	switch {
	case err != nil:
		if p.stopped {
			break
		}
		p.outcomes.WithLabelValues("failed").Inc()
		p.backoff = min(max(2*p.backoff, time.Second), warmBackoffMax)
		p.retryAt = time.Now().Add(p.backoff)
		p.s.log.Warn("dialing a warm model session failed; streams dial their own meanwhile", "error", err, "retry_in", p.backoff)
	case p.stopped:
		p.outcomes.WithLabelValues("closed").Inc()
		p.closeLeg(leg)
	default:
		p.backoff, p.retryAt = 0, time.Time{}
		p.dialTime = (3*p.dialTime + took) / 4
		p.idle = append(p.idle, warmLeg{leg: p.watchLeg(leg), at: time.Now()})
		p.idleGauge.Set(float64(len(p.idle)))
	}
	p.mu.Unlock()
}

// closeLeg closes a connection no call has used, off the caller's goroutine (a
// close waits for the peer's answer).
func (p *warmPool) closeLeg(leg session.ModelLeg) {
	p.s.wg.Go(func() { _ = leg.Close() })
}
