package callevent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// Digest is a short digest of what the event says the agent was (its header,
// hash, source and greeting aside: the greeting is the first agent's only): two
// calls with the same digest ran the same agent, wherever its file was.
func (ev CallConfig) Digest() string {
	ev.Header, ev.Hash, ev.Source, ev.Greeting = Header{}, "", "", ""
	data, _ := json.Marshal(ev) // plain data: always encodes
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// ConfigURL is u without what may be secret: its user information, its query
// (shown as "?…") and its fragment. The rest is kept as written (a ${VAR} stays
// readable).
func ConfigURL(u string) string {
	u, _, _ = strings.Cut(u, "#")
	u, _, query := strings.Cut(u, "?")
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		host, path, slash := strings.Cut(rest, "/")
		if at := strings.LastIndex(host, "@"); at >= 0 {
			host = host[at+1:]
		}
		u = scheme + "://" + host
		if slash {
			u += "/" + path
		}
	}
	if query {
		u += "?…"
	}
	return u
}

// HeaderNames are the names of headers, sorted; never their values.
func HeaderNames(h map[string]string) []string {
	if len(h) == 0 {
		return nil
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
