package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/integrity"
)

// Agreements carry FEP-8b32 integrity proofs (eddsa-jcs-2022): the coop
// that accepts an Offer signs the Agreement it sends in its Accept and
// serves at the agreement's IRI; the proposer checks that proof and adds
// its own, so its ledger keeps the agreement signed by both. Anyone can
// verify either copy from the two coops' actor documents, where each coop
// lists its Ed25519 key under assertionMethod as a Multikey (FEP-521a).

// agreementContext is the context of a signed Agreement: the trade terms
// and the Data Integrity vocabulary of its proof.
var agreementContext = []any{
	ContextActivityStreams,
	integrity.ContextDataIntegrity,
	tradeContext[1],
}

// coopActorContext is actorContext with the Multikey terms of
// assertionMethod.
var coopActorContext = append(append([]any{}, actorContext[:2]...), integrity.ContextMultikey, actorContext[2])

// assertionKeyInfo separates the Ed25519 key derived from a coop's RSA
// key from any other use of that secret.
const assertionKeyInfo = "coopfed assertionMethod Ed25519 v1"

// assertionKey returns a coop's Ed25519 signing key. It is derived with
// HKDF-SHA256 from the coop's RSA private key, so every coop has one, old
// and new alike, without another secret to store or back up; it changes
// only if the RSA key does.
func (f *Federation) assertionKey(c *coopfed.Coop) (ed25519.PrivateKey, error) {
	rk, err := f.coopKey(c)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		return nil, err
	}
	seed, err := hkdf.Key(sha256.New, der, nil, assertionKeyInfo, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// assertionMethod is the Multikey a coop's actor lists under
// assertionMethod.
func (f *Federation) assertionMethod(c *coopfed.Coop) (map[string]any, error) {
	k, err := f.assertionKey(c)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"id": f.iris.CoopAssertionKey(c.Name), "type": "Multikey", "controller": f.iris.Coop(c.Name),
		"publicKeyMultibase": integrity.EncodePublicKey(k.Public().(ed25519.PublicKey)),
	}, nil
}

// signAgreement adds coop c's proof to an agreement document (a map, or
// the JSON of one already signed) and returns the signed JSON.
func (f *Federation) signAgreement(c *coopfed.Coop, doc []byte, at time.Time) (string, error) {
	k, err := f.assertionKey(c)
	if err != nil {
		return "", err
	}
	signed, err := integrity.Sign(doc, k, f.iris.CoopAssertionKey(c.Name), at)
	if err != nil {
		return "", fmt.Errorf("federation: sign agreement: %w", err)
	}
	return string(signed), nil
}

// AgreementSigner is one verified proof of an agreement.
type AgreementSigner struct {
	Actor   string // the coop whose key made the proof
	Key     string // the verification method
	Created string
}

// AgreementCheck is the outcome of a successful verification.
type AgreementCheck struct {
	IRI     string
	Parties []string // provider and receiver of the main commitment
	Signers []AgreementSigner
}

type signedAgreementJSON struct {
	ID           string          `json:"id"`
	Type         types           `json:"type"`
	AttributedTo string          `json:"attributedTo"`
	Stipulates   *commitmentJSON `json:"stipulates"`
}

// VerifyAgreement checks the integrity proofs of a signed Agreement: each
// must be by one of the agreement's two parties, with the Ed25519 key
// their actor document lists under assertionMethod, over the document as
// it is; and the coop on whose host the agreement lives must be among
// the signers. The error says what failed.
func (f *Federation) VerifyAgreement(ctx context.Context, doc []byte) (*AgreementCheck, error) {
	var a signedAgreementJSON
	if err := json.Unmarshal(doc, &a); err != nil || !a.Type.Is("Agreement") {
		return nil, coopfed.Errorf(coopfed.EINVALID, "not an Agreement document")
	}
	if a.ID == "" || a.Stipulates == nil || a.Stipulates.Provider == "" || a.Stipulates.Receiver == "" {
		return nil, coopfed.Errorf(coopfed.EINVALID, "the agreement names no id, or not both parties (stipulates.provider and receiver)")
	}
	check := &AgreementCheck{IRI: a.ID, Parties: []string{a.Stipulates.Provider, a.Stipulates.Receiver}}
	party := map[string]bool{a.Stipulates.Provider: true, a.Stipulates.Receiver: true}
	proofs, err := integrity.Verify(doc, func(vm string) (ed25519.PublicKey, error) {
		controller := stripFragment(vm)
		// Why: a valid signature by a third coop says nothing about what
		// the two parties agreed.
		if !party[controller] {
			return nil, fmt.Errorf("%s is not a party to this agreement", controller)
		}
		return f.resolveAssertionKey(ctx, controller, vm)
	})
	if err != nil {
		return nil, coopfed.Errorf(coopfed.EINVALID, "the agreement's proof does not verify: %v", err)
	}
	issuer := false
	for _, p := range proofs {
		actor := stripFragment(p.VerificationMethod)
		check.Signers = append(check.Signers, AgreementSigner{Actor: actor, Key: p.VerificationMethod, Created: p.Created})
		if SameHost(actor, HostOf(a.ID)) {
			issuer = true
		}
	}
	// Why: the agreement's IRI is on the accepter's host; a copy signed
	// only by the other side is not what the accepter agreed to.
	if !issuer {
		return nil, coopfed.Errorf(coopfed.EINVALID, "the agreement's proof does not verify: no proof by the coop on %s, where the agreement lives", HostOf(a.ID))
	}
	return check, nil
}

// VerifyAgreementAt fetches an agreement from its IRI and verifies it.
func (f *Federation) VerifyAgreementAt(ctx context.Context, iri string) (*AgreementCheck, []byte, error) {
	body, final, err := f.FetchJSON(ctx, iri)
	if err != nil {
		return nil, nil, err
	}
	var a signedAgreementJSON
	json.Unmarshal(body, &a)
	// Why: the document must be the one its IRI names, on that host.
	if a.ID != iri || !SameHost(final, HostOf(iri)) {
		return nil, body, coopfed.Errorf(coopfed.EINVALID, "the document at %s has id %q", iri, a.ID)
	}
	check, err := f.VerifyAgreement(ctx, body)
	return check, body, err
}

type assertionActorJSON struct {
	ID              string          `json:"id"`
	AssertionMethod json.RawMessage `json:"assertionMethod"`
}

type multikeyJSON struct {
	ID                 string `json:"id"`
	Type               types  `json:"type"`
	Controller         string `json:"controller"`
	PublicKeyMultibase string `json:"publicKeyMultibase"`
}

// resolveAssertionKey returns the public key vm of actor, read from the
// actor's assertionMethod (ours directly, others' fetched).
func (f *Federation) resolveAssertionKey(ctx context.Context, actor, vm string) (ed25519.PublicKey, error) {
	if c := f.partyCoop(ctx, actor); c != nil {
		if vm != f.iris.CoopAssertionKey(c.Name) {
			return nil, fmt.Errorf("%s lists no such key", actor)
		}
		k, err := f.assertionKey(c)
		if err != nil {
			return nil, err
		}
		return k.Public().(ed25519.PublicKey), nil
	}
	body, final, err := f.FetchJSON(ctx, actor)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the actor: %v", err)
	}
	var a assertionActorJSON
	if err := json.Unmarshal(body, &a); err != nil || a.ID != actor || !SameHost(final, HostOf(actor)) {
		return nil, fmt.Errorf("%s does not serve its own actor document", actor)
	}
	raw := bytes.TrimSpace(a.AssertionMethod)
	if len(raw) > 0 && raw[0] == '{' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	var keys []json.RawMessage
	json.Unmarshal(raw, &keys)
	for _, kr := range keys {
		var k multikeyJSON
		if json.Unmarshal(kr, &k) != nil || k.ID != vm {
			continue // a reference or another key
		}
		// Why: FEP-521a: the key belongs to the actor only when the actor
		// lists it and the key names the actor as its controller.
		if !k.Type.Is("Multikey") || k.Controller != actor {
			return nil, fmt.Errorf("%s is not a Multikey controlled by %s", vm, actor)
		}
		return integrity.DecodePublicKey(k.PublicKeyMultibase)
	}
	return nil, fmt.Errorf("%s lists no such key under assertionMethod", actor)
}
