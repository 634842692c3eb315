package integrity

import (
	"crypto/ed25519"
	"testing"
	"time"
)

// BenchmarkSign measures one eddsa-jcs-2022 proof of the FEP's test
// document (canonicalisation, hashing and the Ed25519 signature).
func BenchmarkSign(b *testing.B) {
	k, _ := DecodePrivateKey(vectorSecret)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for b.Loop() {
		if _, err := Sign([]byte(vectorDoc), k, vectorKeyID, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k, _ := DecodePrivateKey(vectorSecret)
	signed, _ := Sign([]byte(vectorDoc), k, vectorKeyID, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	pub := k.Public().(ed25519.PublicKey)
	for b.Loop() {
		if _, err := Verify(signed, func(string) (ed25519.PublicKey, error) { return pub, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	for b.Loop() {
		if _, err := Canonicalize([]byte(vectorDoc)); err != nil {
			b.Fatal(err)
		}
	}
}
