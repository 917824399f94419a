package inspector

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callagent/callagent/pkg/calllog"
)

// Options configure a Handler.
type Options struct {
	// LogDir is the call log directory (calllog's layout: DATE/CALLSID.jsonl).
	LogDir string
	// RecordDir holds the calls' recordings (CALLSID.wav); "" when there are none.
	RecordDir string
	// Token is the secret every request must carry (NewToken makes one).
	Token string
	// Port is the port the inspector listens on: a request's Host header must
	// name it, with a loopback name or address.
	Port int
	// Hosts are more names (or addresses, without the port) the Host header may
	// name: the address of an inspector told to listen beyond loopback.
	Hosts []string
	// Redactor, when set, redacts every JSON answer again (the call logs were
	// redacted when written).
	Redactor *calllog.Redactor
	// EventBuffer is how many changes an events client may have waiting before
	// it is dropped (default 64).
	EventBuffer int
	// Now is the clock for since= filters (default time.Now).
	Now func() time.Time
	// Replay, when set, offers the replay action: POST /api/calls/{sid}/replay
	// runs the call again as a scenario against the current configuration
	// (cmd supplies it: the --from-call replay). One runs at a time, bounded by
	// ReplayTimeout (default DefaultReplayTimeout).
	Replay        ReplayFunc
	ReplayTimeout time.Duration
}

// Handler serves the inspector. It is safe for concurrent use.
type Handler struct {
	opts   Options
	mux    *http.ServeMux
	cookie string

	mu      sync.Mutex
	clients map[*client]struct{}
	dropped int
	cache   summaryCache
	// lastUpdate is when PublishEvent last sent each call's update.
	lastUpdate map[string]time.Time

	warming   atomic.Bool    // a prewarm is at work (prewarm.go)
	bg        sync.WaitGroup // the prewarm's goroutine: Wait joins it
	replaying sync.Mutex     // held while a replay runs (TryLock: a second one is refused)
	keepMu    sync.Mutex     // held while a replay is kept
}

// Errors of New.
var (
	ErrShortToken = errors.New("inspector: the token must be at least 22 characters (128 bits)")
	ErrNoPort     = errors.New("inspector: Options.Port is required (the Host header is checked against it)")
)

//go:embed static
var static embed.FS

// New returns the inspector's handler.
func New(opts Options) (*Handler, error) {
	if len(opts.Token) < 22 {
		return nil, ErrShortToken
	}
	if opts.Port <= 0 || opts.Port > 65535 {
		return nil, ErrNoPort
	}
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = 64
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, mux: http.NewServeMux(), clients: map[*client]struct{}{}, lastUpdate: map[string]time.Time{},
		// One cookie per port: two inspectors on one machine do not overwrite
		// each other's (cookies ignore ports).
		cookie: "callagent_inspector_" + strconv.Itoa(opts.Port)}
	files, _ := fs.Sub(static, "static")
	h.mux.Handle("GET /{$}", http.FileServerFS(files))
	h.mux.Handle("GET /app.js", http.FileServerFS(files))
	h.mux.Handle("GET /app.css", http.FileServerFS(files))
	h.mux.Handle("GET /call.html", http.FileServerFS(files))
	h.mux.Handle("GET /call.js", http.FileServerFS(files))
	h.mux.HandleFunc("GET /api/calls", h.listCalls)
	h.mux.HandleFunc("GET /api/calls/{sid}", h.call)
	h.mux.HandleFunc("GET /api/calls/{sid}/frames", h.frames)
	h.mux.HandleFunc("GET /api/calls/{sid}/audio", h.audio)
	h.mux.HandleFunc("GET /api/calls/{sid}/peaks", h.peaks)
	h.mux.HandleFunc("GET /api/events", h.events)
	h.mux.HandleFunc("GET /api/session", h.session)
	h.mux.HandleFunc("POST /api/calls/{sid}/replay", h.replay)
	h.mux.HandleFunc("GET /api/calls/{sid}/replay", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "a replay is a POST")
	})
	h.mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such page")
	})
	return h, nil
}

// NewToken returns 128 random bits from crypto/rand, hex encoded.
func NewToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// ServeHTTP checks the Host header and the token, then serves the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer") // the first page's URL holds the token
	hd.Set("X-Frame-Options", "DENY")
	// Scripts and styles only from the inspector's own files: nothing inline,
	// nothing from elsewhere.
	hd.Set("Content-Security-Policy", "default-src 'self'; media-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
	hd.Set("Cache-Control", "no-store")
	if !h.hostAllowed(r.Host) {
		writeError(w, http.StatusForbidden, "this inspector answers only to localhost:"+strconv.Itoa(h.opts.Port))
		return
	}
	fromQuery := false
	ok := h.tokenOK(bearer(r)) || h.tokenOK(r.Header.Get(TokenHeader))
	if !ok {
		if c, err := r.Cookie(h.cookie); err == nil {
			ok = h.tokenOK(c.Value)
		}
	}
	if !ok {
		if t := r.URL.Query().Get("token"); t != "" && h.tokenOK(t) {
			ok, fromQuery = true, true
		}
	}
	if !ok {
		writeError(w, http.StatusUnauthorized, "a token is required: open the URL callagent printed, with its ?token=")
		return
	}
	if fromQuery {
		http.SetCookie(w, &http.Cookie{Name: h.cookie, Value: h.opts.Token, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode})
		if r.Method == http.MethodGet && r.URL.Path == "/" {
			// The token leaves the address bar (and the history) at once.
			q := r.URL.Query()
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func (h *Handler) tokenOK(t string) bool {
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(h.opts.Token)) == 1
}

// hostAllowed accepts localhost, 127.0.0.0/8 and ::1 with the inspector's port:
// a page of another site that rebinds its name to 127.0.0.1 still sends its
// own name, and is refused.
func (h *Handler) hostAllowed(host string) bool {
	name, port, err := net.SplitHostPort(host)
	if err != nil || port != strconv.Itoa(h.opts.Port) {
		return false
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	for _, h := range h.opts.Hosts {
		if strings.EqualFold(name, strings.Trim(h, "[]")) {
			return true
		}
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback() && !strings.Contains(name, "%")
}

// writeJSON writes v as JSON, redacted again when a Redactor is set.
func (h *Handler) writeJSON(w http.ResponseWriter, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// The default HTML escaping stays on: < > & become \u003c… so an answer
	// opened by mistake as HTML holds no markup.
	if err := enc.Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	data := b.Bytes()
	if h.opts.Redactor != nil {
		data = h.opts.Redactor.Redact(data)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(data)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	data, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}
