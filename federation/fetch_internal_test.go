package federation

import "testing"

func TestIsFetchedActivityMediaType(t *testing.T) {
	tests := []struct {
		ct   string
		want bool
	}{
		{"application/activity+json", true},
		{"application/activity+json; charset=utf-8", true},
		{"Application/Activity+JSON", true},
		{`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, true},
		{`application/ld+json;profile=https://www.w3.org/ns/activitystreams`, true},
		{`application/ld+json; charset=utf-8; PROFILE="https://www.w3.org/ns/activitystreams"`, true},
		// A profile is a space-separated list (RFC 6906).
		{`application/ld+json; profile="https://www.w3.org/ns/activitystreams http://www.w3.org/ns/json-ld#compacted"`, true},
		{"application/ld+json", false},
		{`application/ld+json; profile="https://schema.org/"`, false},
		{`application/ld+json; profile="https://www.w3.org/ns/activitystreams/extra"`, false},
		{"application/json", false},
		{"text/html; charset=utf-8", false},
		{"text/plain", false},
		{"application/jrd+json", false},
		{"", false},
		{"application/activity+json garbage", false},
		{`application/ld+json; profile=https://schema.org/`, false},
	}
	for _, tt := range tests {
		if got := isFetchedActivityMediaType(tt.ct); got != tt.want {
			t.Errorf("isFetchedActivityMediaType(%q) = %v, want %v", tt.ct, got, tt.want)
		}
	}
}
