package server

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
)

// logRequests logs each request at debug level once it is answered (a media stream
// when it is upgraded): method, path, status, time taken. Nothing is done when
// debug is off. Query strings are left out: they are not ours to log.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := s.now()
		sw := &statusWriter{ResponseWriter: w}
		sw.done = func() {
			if sw.asEvent {
				return // reported as a call event, with its call SID
			}
			s.log.LogAttrs(context.Background(), slog.LevelDebug, "http request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sw.status()),
				slog.Duration("took", s.now().Sub(start)), slog.String("remote", r.RemoteAddr))
		}
		next.ServeHTTP(sw, r)
		if !sw.hijacked {
			sw.done()
		}
	})
}

// statusWriter remembers the status; it passes Hijack and Flush through (media
// streams are WebSockets).
type statusWriter struct {
	http.ResponseWriter
	code     int
	hijacked bool
	asEvent  bool
	done     func()
}

// reportedAsEvent tells the request log that the request is reported as a call
// event (callevent.HTTPRequest), so it is not logged twice.
func reportedAsEvent(w http.ResponseWriter) {
	if sw, ok := w.(*statusWriter); ok {
		sw.asEvent = true
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.hijacked {
		return http.StatusSwitchingProtocols
	}
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
		w.done()
	}
	return conn, brw, err
}

func (w *statusWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
