package callevent

import "testing"

func TestConfigURLKeepsNoCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example.com/v1/orders":                    "https://api.example.com/v1/orders",
		"https://user:pa@ss@api.example.com/x?key=k1&b=2#frag": "https://api.example.com/x?…",
		"https://api.example.com/${ORDER_KEY}/x?token=${T}":    "https://api.example.com/${ORDER_KEY}/x?…",
		"https://api.example.com":                              "https://api.example.com",
		"":                                                     "",
	} {
		if got := ConfigURL(in); got != want {
			t.Errorf("ConfigURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDigestIgnoresHeaderSourceAndGreeting(t *testing.T) {
	a := CallConfig{Agent: "main", Voice: "marin", Source: "a.yaml", Greeting: "Hi", Hash: "x"}
	b := a
	b.Source, b.Greeting, b.Hash = "/elsewhere/b.yaml", "", ""
	if a.Digest() != b.Digest() || len(a.Digest()) != 12 {
		t.Errorf("digests %s %s", a.Digest(), b.Digest())
	}
	b.Voice = "ash"
	if a.Digest() == b.Digest() {
		t.Error("a new voice keeps the digest")
	}
}
