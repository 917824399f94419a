// Package ngroktest is a fake ngrok edge on loopback. It speaks enough of the ngrok
// agent protocol — TLS, muxado streams, JSON requests — for the real
// golang.ngrok.com/ngrok/v2 client to authenticate, bind an HTTPS endpoint, and
// receive connections, so the tunnel code is tested with the real library and no
// network.
//
// The protocol facts used here: each request is a muxado stream whose type names
// it (auth 0, bind 1, unbind 2, proxy 3) carrying one JSON request and one JSON
// response; a proxied connection is a stream of type 3 that starts with a
// little-endian int64 length and that many bytes of JSON header naming the bind.
package ngroktest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"golang.ngrok.com/muxado/v2"
)

// Request types of the ngrok agent protocol.
const (
	authReq   muxado.StreamType = 0
	bindReq   muxado.StreamType = 1
	unbindReq muxado.StreamType = 2
	proxyReq  muxado.StreamType = 3
	heartbeat muxado.StreamType = 0xFFFFFFFF // muxado's heartbeat stream: echo 4-byte ids
)

// InvalidTokenMessage is what the edge answers a wrong authtoken with, shaped like
// ngrok's own answer.
const InvalidTokenMessage = "The authtoken you specified does not look like a proper ngrok authtoken.\nYour authtoken: %s\n\nERR_NGROK_105"

// Auth is an authentication the edge received.
type Auth struct {
	Authtoken  string
	ClientType string
	Version    string
	UserAgent  string
}

// Bind is an endpoint the edge bound.
type Bind struct {
	ID    string
	Proto string
	URL   string // the URL the agent asked for, or "" for a random one
	Bound string // the URL the edge assigned
}

// Edge is a running fake ngrok edge.
type Edge struct {
	// Addr is the host:port to give the agent (ngrok.WithAgentConnectURL).
	Addr string
	// CAs trusts the edge's certificate (ngrok.WithAgentConnectCAs); CAPEM is the
	// same as PEM.
	CAs   *x509.CertPool
	CAPEM []byte

	token string
	ln    net.Listener
	tls   *tls.Config
	wg    sync.WaitGroup

	mu       sync.Mutex
	auths    []Auth
	binds    []Bind
	sessions map[muxado.TypedStreamSession]struct{}
	current  muxado.TypedStreamSession // the newest authenticated session
	closed   bool
	refuse   string // when set, every bind is refused with this error
}

// Start runs an edge on 127.0.0.1 that accepts token. Close it when done.
func Start(token string) (*Edge, error) {
	// httptest's certificate is valid for 127.0.0.1 and ::1, which is all we need.
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.StartTLS()
	cert := ts.Certificate()
	tlsCfg := ts.TLS.Clone()
	ts.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	e := &Edge{
		Addr:     ln.Addr().String(),
		CAs:      pool,
		CAPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		token:    token,
		ln:       ln,
		tls:      tlsCfg,
		sessions: map[muxado.TypedStreamSession]struct{}{},
	}
	e.wg.Add(1)
	go e.accept()
	return e, nil
}

// RefuseBinds makes every later bind fail with msg (say, an ERR_NGROK_ code).
func (e *Edge) RefuseBinds(msg string) {
	e.mu.Lock()
	e.refuse = msg
	e.mu.Unlock()
}

// Auths returns the authentications received, in order.
func (e *Edge) Auths() []Auth {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Auth(nil), e.auths...)
}

// Binds returns the endpoints bound, in order.
func (e *Edge) Binds() []Bind {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Bind(nil), e.binds...)
}

// Sessions reports how many agent sessions are connected.
func (e *Edge) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}

// DropSessions cuts every agent session, as a network blip would; agents
// reconnect to the still-running edge.
func (e *Edge) DropSessions() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.sessions {
		s.Close()
	}
}

// Close stops the edge and drops every agent session.
func (e *Edge) Close() {
	e.mu.Lock()
	e.closed = true
	for s := range e.sessions {
		s.Close()
	}
	e.mu.Unlock()
	e.ln.Close()
	e.wg.Wait()
}

func (e *Edge) accept() {
	defer e.wg.Done()
	for {
		conn, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.wg.Add(1)
		go e.serve(conn)
	}
}

func (e *Edge) serve(conn net.Conn) {
	defer e.wg.Done()
	// The edge answers heartbeats but sends none: muxado's own requester outlives
	// its session by up to an interval.
	sess := muxado.NewTypedStreamSession(muxado.Server(tls.Server(conn, e.tls), nil))
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		conn.Close()
		return
	}
	e.sessions[sess] = struct{}{}
	e.mu.Unlock()
	defer func() {
		sess.Close()
		e.mu.Lock()
		delete(e.sessions, sess)
		if e.current == sess {
			e.current = nil
		}
		e.mu.Unlock()
	}()
	for {
		st, err := sess.AcceptTypedStream()
		if err != nil {
			return
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer st.Close()
			if st.StreamType() == heartbeat {
				io.Copy(st, st)
				return
			}
			e.handle(sess, st)
		}()
	}
}

func (e *Edge) handle(sess muxado.TypedStreamSession, st muxado.TypedStream) {
	dec := json.NewDecoder(st)
	reply := func(v any) { json.NewEncoder(st).Encode(v) }
	switch st.StreamType() {
	case authReq:
		var req struct {
			Extra struct {
				Authtoken  string
				ClientType string
				Version    string
				UserAgent  string
			}
		}
		if dec.Decode(&req) != nil {
			return
		}
		x := req.Extra
		e.mu.Lock()
		e.auths = append(e.auths, Auth{Authtoken: x.Authtoken, ClientType: x.ClientType, Version: x.Version, UserAgent: x.UserAgent})
		ok := x.Authtoken == e.token
		if ok {
			e.current = sess
		}
		e.mu.Unlock()
		if !ok {
			reply(map[string]any{"Error": fmt.Sprintf(InvalidTokenMessage, x.Authtoken)})
			return
		}
		reply(map[string]any{"Version": "3", "ClientId": "fake-client",
			"Extra": map[string]any{"Version": "fake", "Region": "local", "AccountName": "Test Account", "AgentSessionID": "fake-session"}})
	case bindReq:
		var req struct {
			ID    string `json:"Id"`
			Proto string
			Opts  struct{ URL string }
		}
		if dec.Decode(&req) != nil {
			return
		}
		e.mu.Lock()
		refuse := e.refuse
		if req.ID == "" {
			req.ID = fmt.Sprintf("bind-%d", len(e.binds)+1)
		}
		bound := req.Opts.URL
		for _, b := range e.binds {
			if b.ID == req.ID { // a reconnecting agent binds its endpoint again
				bound = b.Bound
			}
		}
		if bound == "" {
			bound = fmt.Sprintf("https://fake-%d.ngrok.test", len(e.binds)+1)
		}
		if refuse == "" {
			e.binds = append(e.binds, Bind{ID: req.ID, Proto: req.Proto, URL: req.Opts.URL, Bound: bound})
		}
		e.mu.Unlock()
		if refuse != "" {
			reply(map[string]any{"Id": req.ID, "Error": refuse})
			return
		}
		reply(map[string]any{"Id": req.ID, "URL": bound, "Proto": req.Proto, "Extra": map[string]any{"TunnelID": "tn_" + req.ID}})
	case unbindReq:
		var req map[string]any
		dec.Decode(&req)
		reply(map[string]any{})
	}
}

// Dial opens a connection through the edge to the newest bound endpoint, as a
// visitor of its public URL would (TLS ends at the edge: the agent gets plain
// bytes).
func (e *Edge) Dial(ctx context.Context) (net.Conn, error) {
	e.mu.Lock()
	sess := e.current
	var bind Bind
	if len(e.binds) > 0 {
		bind = e.binds[len(e.binds)-1]
	}
	e.mu.Unlock()
	if sess == nil || bind.ID == "" {
		return nil, errors.New("ngroktest: no agent session with a bound endpoint")
	}
	st, err := sess.OpenTypedStream(proxyReq)
	if err != nil {
		return nil, err
	}
	hdr, _ := json.Marshal(map[string]any{"Id": bind.ID, "ClientAddr": "203.0.113.7:40000", "Proto": "https", "EdgeType": "cloud"})
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, int64(len(hdr)))
	buf.Write(hdr)
	if _, err := st.Write(buf.Bytes()); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// HTTPClient returns a client whose every request goes through the edge to the
// bound endpoint, whatever the URL's host (use the endpoint's URL with http:).
func (e *Edge) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return e.Dial(ctx) },
		DisableKeepAlives: true,
	}, Timeout: 10 * time.Second}
}

// PlainURL turns the bound https URL into the http URL HTTPClient expects.
func PlainURL(u string) string { return strings.Replace(u, "https://", "http://", 1) }
