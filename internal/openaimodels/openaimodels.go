// Package openaimodels is OpenAI's model retrieval endpoint, GET /v1/models/{model},
// as the twins answer it (pkg/realtime/realtimetest and pkg/live/livetest share
// this one definition): the bearer key checked, 401 with invalid_api_key for a key
// the API does not know (its message quoting the key masked, as the API does), 401
// with a null code when no key was sent, 404 model_not_found for a model the key
// may not use, and the model object otherwise. `callagent doctor` and the checks
// dev and serve run at start ask it whether the key works with the configured
// model.
//
// It is not a model list (GET /v1/models) and holds no model metadata beyond the id.
package openaimodels

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Access is which models the twin's keys may use. The zero value lets every key
// use every model; Allow narrows it. It is safe for concurrent use.
type Access struct {
	mu      sync.Mutex
	limited bool
	allowed map[string]bool
}

// Allow limits the models any key may retrieve to ids (none: no model at all);
// others answer 404 model_not_found, as the API answers for a model the key's
// project has no access to.
func (a *Access) Allow(ids ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.limited = true
	a.allowed = map[string]bool{}
	for _, id := range ids {
		a.allowed[id] = true
	}
}

func (a *Access) may(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.limited || a.allowed[id]
}

// Serve answers r and returns true when it is GET …/v1/models/{model}; otherwise
// it writes nothing and returns false. apiKey, when not empty, is the only bearer
// key accepted; any key is accepted without it, but one must be sent.
func (a *Access) Serve(w http.ResponseWriter, r *http.Request, apiKey string) bool {
	if r.Method != http.MethodGet {
		return false
	}
	_, id, ok := strings.Cut(r.URL.Path, "/v1/models/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return false
	}
	key, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !bearer || key == "":
		writeError(w, http.StatusUnauthorized, nil, "You didn't provide an API key. You need to provide your API key in an "+
			"Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from "+
			"https://platform.openai.com/account/api-keys.")
	case apiKey != "" && key != apiKey:
		code := "invalid_api_key"
		writeError(w, http.StatusUnauthorized, &code, "Incorrect API key provided: "+Mask(key)+
			". You can find your API key at https://platform.openai.com/account/api-keys.")
	case !a.may(id):
		code := "model_not_found"
		writeError(w, http.StatusNotFound, &code, fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", id))
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "model", "created": 1756339249, "owned_by": "system"})
	}
	return true
}

// Mask is a key as the API quotes it in invalid_api_key: its first three and last
// four characters, the rest starred; a short key wholly starred.
func Mask(key string) string {
	if len(key) < 12 {
		return strings.Repeat("*", len(key))
	}
	return key[:3] + strings.Repeat("*", len(key)-7) + key[len(key)-4:]
}

func writeError(w http.ResponseWriter, status int, code *string, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": "invalid_request_error", "param": nil, "code": code}})
}
