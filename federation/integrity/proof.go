package integrity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The terms of a proof.
const (
	ProofType     = "DataIntegrityProof"
	Cryptosuite   = "eddsa-jcs-2022"
	PurposeAssert = "assertionMethod"
	// ContextDataIntegrity defines DataIntegrityProof and its terms.
	ContextDataIntegrity = "https://w3id.org/security/data-integrity/v1"
	// ContextMultikey defines Multikey and publicKeyMultibase (FEP-521a).
	ContextMultikey = "https://w3id.org/security/multikey/v1"
)

// maxProofs bounds the proofs of one document that are checked: a proof
// set here has one per party.
const maxProofs = 4

// Multicodec prefixes of Ed25519 keys (varint-encoded 0xed and 0x1300).
var (
	ed25519PubPrefix  = []byte{0xed, 0x01}
	ed25519PrivPrefix = []byte{0x80, 0x26}
)

// Proof is one DataIntegrityProof.
type Proof struct {
	Type               string `json:"type"`
	Cryptosuite        string `json:"cryptosuite"`
	VerificationMethod string `json:"verificationMethod"`
	ProofPurpose       string `json:"proofPurpose"`
	ProofValue         string `json:"proofValue,omitempty"`
	Created            string `json:"created,omitempty"`
}

// EncodePublicKey returns an Ed25519 public key as a Multikey
// publicKeyMultibase value.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return EncodeMultibase(append(append([]byte{}, ed25519PubPrefix...), pub...))
}

// DecodePublicKey reads a Multikey publicKeyMultibase value holding an
// Ed25519 key.
func DecodePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := DecodeMultibase(s)
	if err != nil {
		return nil, fmt.Errorf("publicKeyMultibase: %w", err)
	}
	if len(b) != 2+ed25519.PublicKeySize || b[0] != ed25519PubPrefix[0] || b[1] != ed25519PubPrefix[1] {
		return nil, errors.New("publicKeyMultibase is not an Ed25519 public key")
	}
	return ed25519.PublicKey(b[2:]), nil
}

// DecodePrivateKey reads a multibase Ed25519 secret key (multicodec
// ed25519-priv, the 32-byte seed), the form of the FEP's test vectors.
func DecodePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := DecodeMultibase(s)
	if err != nil {
		return nil, err
	}
	if len(b) != 2+ed25519.SeedSize || b[0] != ed25519PrivPrefix[0] || b[1] != ed25519PrivPrefix[1] {
		return nil, errors.New("not an Ed25519 secret key")
	}
	return ed25519.NewKeyFromSeed(b[2:]), nil
}

// splitDoc separates a document's proofs from the rest.
func splitDoc(doc []byte) (map[string]json.RawMessage, []json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil || m == nil {
		return nil, nil, errors.New("the document is not a JSON object")
	}
	raw, ok := m["proof"]
	delete(m, "proof")
	if !ok {
		return m, nil, nil
	}
	var proofs []json.RawMessage
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &proofs); err != nil {
			return nil, nil, errors.New("proof must be an object or an array of objects")
		}
	} else {
		proofs = []json.RawMessage{raw}
	}
	return m, proofs, nil
}

// hashData is eddsa-jcs-2022's input to the signature: SHA-256 of the
// canonical proof configuration, then SHA-256 of the canonical document.
// The configuration is the proof's own members without proofValue, as
// FEP-8b32's test vector has it: a proof that carries an @context signs
// it, one that does not (the FEP's form) signs none.
func hashData(doc map[string]json.RawMessage, config map[string]json.RawMessage) ([]byte, error) {
	delete(config, "proofValue")
	cb, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	canonConfig, err := Canonicalize(cb)
	if err != nil {
		return nil, err
	}
	db, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	canonDoc, err := Canonicalize(db)
	if err != nil {
		return nil, err
	}
	h1, h2 := sha256.Sum256(canonConfig), sha256.Sum256(canonDoc)
	return append(h1[:], h2[:]...), nil
}

// Sign adds an eddsa-jcs-2022 proof by key, named verificationMethod, to
// the JSON document doc and returns the signed document. A document that
// already has proofs gets one more (a proof set): each proof signs the
// document without any proof, so the parties sign independently.
func Sign(doc []byte, key ed25519.PrivateKey, verificationMethod string, created time.Time) ([]byte, error) {
	m, proofs, err := splitDoc(doc)
	if err != nil {
		return nil, err
	}
	p := Proof{Type: ProofType, Cryptosuite: Cryptosuite, VerificationMethod: verificationMethod,
		ProofPurpose: PurposeAssert, Created: created.UTC().Format(time.RFC3339)}
	data, err := hashData(m, proofMap(p))
	if err != nil {
		return nil, err
	}
	p.ProofValue = EncodeMultibase(ed25519.Sign(key, data))
	pb, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if len(proofs) == 0 {
		m["proof"] = pb
	} else {
		all, err := json.Marshal(append(proofs, pb))
		if err != nil {
			return nil, err
		}
		m["proof"] = all
	}
	return json.Marshal(m)
}

// KeyResolver returns the Ed25519 public key a verification method names,
// after checking that it may sign the document (its controller is the
// document's author, for instance).
type KeyResolver func(verificationMethod string) (ed25519.PublicKey, error)

// ErrNoProof is returned for a document without a proof.
var ErrNoProof = errors.New("the document carries no integrity proof")

// Verify checks every proof of a signed JSON document and returns them.
// A document without a proof, with a proof of another cryptosuite or
// purpose, or whose content changed after signing is refused with an
// error that says which.
func Verify(doc []byte, resolve KeyResolver) ([]Proof, error) {
	m, raws, err := splitDoc(doc)
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, ErrNoProof
	}
	if len(raws) > maxProofs {
		return nil, fmt.Errorf("the document carries %d proofs; at most %d are checked", len(raws), maxProofs)
	}
	var out []Proof
	for i, raw := range raws {
		var p Proof
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("proof %d is not a proof object", i+1)
		}
		if p.Type != ProofType || p.Cryptosuite != Cryptosuite {
			return nil, fmt.Errorf("proof %d is a %s %s; only %s %s is supported", i+1, p.Type, p.Cryptosuite, ProofType, Cryptosuite)
		}
		// Why: FEP-8b32 proofs assert the document; a key listed only for
		// authentication must not sign content.
		if p.ProofPurpose != PurposeAssert {
			return nil, fmt.Errorf("proof %d has purpose %q, not %s", i+1, p.ProofPurpose, PurposeAssert)
		}
		if p.Created != "" {
			if _, err := time.Parse(time.RFC3339, p.Created); err != nil {
				return nil, fmt.Errorf("proof %d: created is not a date-time", i+1)
			}
		}
		sig, err := DecodeMultibase(p.ProofValue)
		if err != nil || len(sig) != ed25519.SignatureSize {
			return nil, fmt.Errorf("proof %d: proofValue is not an Ed25519 signature", i+1)
		}
		pub, err := resolve(p.VerificationMethod)
		if err != nil {
			return nil, fmt.Errorf("proof %d: key %s: %w", i+1, p.VerificationMethod, err)
		}
		var config map[string]json.RawMessage
		json.Unmarshal(raw, &config)
		data, err := hashData(m, config)
		if err != nil {
			return nil, fmt.Errorf("proof %d: %w", i+1, err)
		}
		if !ed25519.Verify(pub, data, sig) {
			return nil, fmt.Errorf("proof %d by %s does not match the document: it was changed after it was signed, or signed with another key", i+1, p.VerificationMethod)
		}
		out = append(out, p)
	}
	return out, nil
}

func proofMap(p Proof) map[string]json.RawMessage {
	b, _ := json.Marshal(p)
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	return m
}
