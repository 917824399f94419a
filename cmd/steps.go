package cmd

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// syncWriter serializes writes from the goroutines that share a stream (the
// spinner, log lines, the approver's questions, reload notices).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// dropAfterError writes to w until a write fails, then drops everything: once
// stdout's reader is gone (a closed pipe), each write would only fail again.
type dropAfterError struct {
	mu     sync.Mutex
	w      io.Writer
	failed bool
}

func (d *dropAfterError) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.failed {
		if _, err := d.w.Write(p); err != nil {
			d.failed = true
		}
	}
	return len(p), nil
}

// stepper shows startup steps on stderr: a spinner while a step runs (on a
// terminal), then a check mark with what it did, or a cross. Piped, only the
// results are written. Titles, results and notes are sanitised here, so what a
// step names (a number from Twilio's API, an error from ngrok or OpenAI, a
// configuration's names) never reaches the terminal raw; marks are the only
// styled part.
type stepper struct {
	w   io.Writer
	tty bool
	st  Styles
	now func() time.Time
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// run runs fn under title and reports its result: the text fn returns after a
// check mark, or the title after a cross when it fails (the error itself is the
// command's to print).
func (s *stepper) run(title string, fn func() (string, error)) error {
	title = sanitize(title)
	start := s.now()
	stop, stopped := make(chan struct{}), make(chan struct{})
	if s.tty {
		go func() {
			defer close(stopped)
			t := time.NewTicker(80 * time.Millisecond)
			defer t.Stop()
			for i := 0; ; i++ {
				fmt.Fprintf(s.w, "\r\x1b[2K%s %s…", s.st.System.Render(spinnerFrames[i%len(spinnerFrames)]), title)
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
	} else {
		close(stopped)
	}
	result, err := fn()
	close(stop)
	<-stopped
	clear := ""
	if s.tty {
		clear = "\r\x1b[2K"
	}
	if err != nil {
		fmt.Fprintf(s.w, "%s%s %s\n", clear, s.st.Error.Render("✗"), title)
		return err
	}
	result = sanitize(result)
	took := s.now().Sub(start)
	timing := ""
	if took >= 100*time.Millisecond {
		timing = " " + s.st.Dim.Render("("+ms(took)+")")
	}
	fmt.Fprintf(s.w, "%s%s %s%s\n", clear, s.st.OK.Render("✓"), result, timing)
	return nil
}

// note writes an informational line in the steps' format.
func (s *stepper) note(mark string, text string) {
	fmt.Fprintf(s.w, "%s %s\n", mark, sanitizeLines(text))
}
