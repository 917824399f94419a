package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/inspector"
)

// dev serves the call inspector live: its list updates as calls happen, from
// dev's own events, and its calls are read from dev's call logs and recordings.

// checkInspectAddr checks --inspect-addr: auto, off, or a loopback host:port
// (dev offers no --insecure-remote: it serves calls in progress).
func (o *devOptions) checkInspectAddr() error {
	switch o.InspectAddr {
	case "auto", "off":
		return nil
	}
	loopback, err := parseInspectAddr("--inspect-addr", o.InspectAddr)
	if err != nil || loopback {
		return err
	}
	return commandLineError(fmt.Errorf("--inspect-addr %s is not a loopback address: the inspector shows your calls and listens on this machine only (callagent inspect --insecure-remote serves past calls elsewhere)", sanitize(o.InspectAddr)))
}

// startInspector serves the inspector over dev's call logs and recordings. A
// failure (no free port) is a warning: dev runs calls without it.
func (d *devSession) startInspector(ctx context.Context) {
	o := d.o
	if o.InspectAddr == "off" {
		return
	}
	warn := func(err error) {
		d.steps.note(d.st.Error.Render("!"), fmt.Sprintf("no call inspector: %s; dev goes on without it", sanitize(err.Error())))
	}
	logDir, err := callLogDir(o.callLog.Dir, d.f.Env)
	if err != nil {
		warn(err)
		return
	}
	addr, host := "", "127.0.0.1"
	if o.InspectAddr != "auto" {
		addr = o.InspectAddr
		host, _, _ = net.SplitHostPort(addr)
	}
	ln, err := listenInspector(ctx, addr)
	if err != nil {
		if addr == "" {
			err = fmt.Errorf("%w (--inspect-addr 127.0.0.1:PORT chooses one; --inspect-addr off turns it off)", err)
		}
		warn(err)
		return
	}
	// The inspector outlives the signal: it shows the calls' ends while they drain.
	s, err := serveInspector(context.WithoutCancel(ctx), ln, host, inspector.Options{LogDir: logDir, RecordDir: o.RecordDir,
		Redactor: d.calls.red, Now: d.f.Now, Replay: inspectReplay(d.f.Env, o.ConfigPath, logDir, o.RecordDir, &o.agentOverrides)})
	if err != nil {
		warn(err)
		return
	}
	d.insp = s
}

// inspected adds the inspector's live updates to the fan-out of call events,
// after the call log (whose line the inspector's page then reads). Publishing
// never waits: a browser that falls behind is dropped.
func (d *devSession) inspected(onEvent func(callevent.Event)) func(callevent.Event) {
	if d.insp == nil {
		return onEvent
	}
	h := d.insp.h
	if onEvent == nil {
		return h.PublishEvent
	}
	return func(ev callevent.Event) {
		onEvent(ev)
		h.PublishEvent(ev)
	}
}

// closeInspector stops the inspector, bounded (inspectShutdown); a failure is
// only said.
func (d *devSession) closeInspector() {
	if d.insp == nil {
		return
	}
	if err := d.insp.close(); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(d.errOut, d.st.Error.Render("!")+" "+sanitize(err.Error()))
	}
	d.insp = nil
}
