package httpsign

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// GenerateKey returns a new RSA-2048 key, the size Mastodon and most
// fediverse servers use for actor keys.
func GenerateKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
}

// ParsePublicKeyPEM parses the first PEM block of s, which must be
// "PUBLIC KEY" (PKIX) or "RSA PUBLIC KEY" (PKCS#1), as found in an actor's
// publicKey.publicKeyPem. Non-RSA PKIX keys are returned as-is; Verify
// rejects them with ReasonAlgorithm.
func ParsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("httpsign: no PEM block in public key")
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err == nil {
			return pub, nil
		}
		// Why: some servers label PKCS#1 bytes "PUBLIC KEY"; accept them
		// rather than fail to federate.
		if rk, err2 := x509.ParsePKCS1PublicKey(block.Bytes); err2 == nil {
			return rk, nil
		}
		return nil, fmt.Errorf("httpsign: parse PKIX public key: %w", err)
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err == nil {
			return pub, nil
		}
		if pk, err2 := x509.ParsePKIXPublicKey(block.Bytes); err2 == nil {
			return pk, nil
		}
		return nil, fmt.Errorf("httpsign: parse PKCS#1 public key: %w", err)
	default:
		return nil, fmt.Errorf("httpsign: unexpected PEM block type %q for a public key", block.Type)
	}
}

// EncodePublicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block, the form
// ActivityPub actors publish in publicKeyPem.
func EncodePublicKeyPEM(pub *rsa.PublicKey) (string, error) {
	if pub == nil {
		return "", errors.New("httpsign: nil public key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("httpsign: marshal public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// EncodePrivateKeyPEM encodes key as a PKCS#8 "PRIVATE KEY" PEM block.
func EncodePrivateKeyPEM(key *rsa.PrivateKey) (string, error) {
	if key == nil {
		return "", errors.New("httpsign: nil private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("httpsign: marshal private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// ParsePrivateKeyPEM parses an RSA private key from a PKCS#8 "PRIVATE KEY"
// or PKCS#1 "RSA PRIVATE KEY" PEM block.
func ParsePrivateKeyPEM(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("httpsign: no PEM block in private key")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("httpsign: parse PKCS#8 private key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("httpsign: private key is %T, not RSA", k)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		rk, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("httpsign: parse PKCS#1 private key: %w", err)
		}
		return rk, nil
	default:
		return nil, fmt.Errorf("httpsign: unexpected PEM block type %q for a private key", block.Type)
	}
}
