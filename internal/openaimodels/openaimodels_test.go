package openaimodels_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callagent/callagent/internal/openaimodels"
)

func TestServe(t *testing.T) {
	var a openaimodels.Access
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.Serve(w, r, "sk-right-0123456789") {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	get := func(path, key string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	code := func(body map[string]any) any { return body["error"].(map[string]any)["code"] }

	if st, body := get("/v1/models/gpt-realtime", "sk-right-0123456789"); st != 200 || body["id"] != "gpt-realtime" || body["object"] != "model" {
		t.Fatalf("%d %v", st, body)
	}
	st, body := get("/v1/models/gpt-realtime", "sk-wrong-0123456789")
	if st != 401 || code(body) != "invalid_api_key" {
		t.Fatalf("%d %v", st, body)
	}
	if msg := body["error"].(map[string]any)["message"].(string); strings.Contains(msg, "wrong-0123") || !strings.Contains(msg, "sk-") {
		t.Fatalf("the key is not masked as the API masks it: %s", msg)
	}
	if st, body := get("/v1/models/gpt-realtime", ""); st != 401 || code(body) != nil {
		t.Fatalf("no key: %d %v", st, body)
	}
	a.Allow("gpt-realtime-mini")
	if st, body := get("/v1/models/gpt-realtime", "sk-right-0123456789"); st != 404 || code(body) != "model_not_found" {
		t.Fatalf("%d %v", st, body)
	}
	if st, _ := get("/v1/models/gpt-realtime-mini", "sk-right-0123456789"); st != 200 {
		t.Fatalf("allowed model: %d", st)
	}
	if st, _ := get("/v1/realtime", "sk-right-0123456789"); st != 404 {
		t.Fatal("another path was answered")
	}
}
