package integrity

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The test vector of FEP-8b32 (fep-8b32.feature), which is also the
// eddsa-jcs-2022 vector's key of W3C vc-di-eddsa.
const (
	vectorSecret = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
	vectorPublic = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
	vectorKeyID  = "https://server.example/users/alice#ed25519-key"
	vectorDoc    = `{
  "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1"],
  "type": "Create",
  "actor": "https://server.example/users/alice",
  "object": {"type": "Note", "content": "Hello world"}
}`
	vectorProofValue = "z3sXaxjKs4M3BRicwWA9peyNPJvJqxtGsDmpt1jjoHCjgeUf71TRFz56osPSfDErszyLp5Ks1EhYSgpDaNM977Rg2"
)

func vectorKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	k, err := DecodePrivateKey(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFEP8b32VectorSigns(t *testing.T) {
	k := vectorKey(t)
	if got := EncodePublicKey(k.Public().(ed25519.PublicKey)); got != vectorPublic {
		t.Fatalf("public key %s, want %s", got, vectorPublic)
	}
	created, _ := time.Parse(time.RFC3339, "2023-02-24T23:36:38Z")
	signed, err := Sign([]byte(vectorDoc), k, vectorKeyID, created)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Proof Proof }
	json.Unmarshal(signed, &got)
	want := Proof{Type: "DataIntegrityProof", Cryptosuite: "eddsa-jcs-2022", VerificationMethod: vectorKeyID,
		ProofPurpose: "assertionMethod", ProofValue: vectorProofValue, Created: "2023-02-24T23:36:38Z"}
	if got.Proof != want {
		t.Fatalf("proof\n%+v\nwant\n%+v", got.Proof, want)
	}
}

func vectorResolver(t *testing.T) KeyResolver {
	pub, err := DecodePublicKey(vectorPublic)
	if err != nil {
		t.Fatal(err)
	}
	return func(vm string) (ed25519.PublicKey, error) {
		if vm != vectorKeyID {
			return nil, errors.New("unknown key")
		}
		return pub, nil
	}
}

func TestFEP8b32VectorVerifies(t *testing.T) {
	signed := strings.Replace(vectorDoc, `"type": "Create",`, `"type": "Create", "proof": {"type": "DataIntegrityProof",
	  "cryptosuite": "eddsa-jcs-2022", "verificationMethod": "`+vectorKeyID+`", "proofPurpose": "assertionMethod",
	  "proofValue": "`+vectorProofValue+`", "created": "2023-02-24T23:36:38Z"},`, 1)
	proofs, err := Verify([]byte(signed), vectorResolver(t))
	if err != nil || len(proofs) != 1 {
		t.Fatalf("Verify: %v %v", proofs, err)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"one byte of content", "Hello world", "Hello World", "does not match the document"},
		{"a member added", `"actor":`, `"extra": 1, "actor":`, "does not match the document"},
		{"the date of the proof", "2023-02-24T23:36:38Z\"}", "2023-02-24T23:36:39Z\"}", "does not match the document"},
		{"the signature", vectorProofValue, vectorProofValue[:len(vectorProofValue)-1] + "3", "does not match the document"},
		{"the cryptosuite", "eddsa-jcs-2022", "eddsa-rdfc-2022", "only DataIntegrityProof eddsa-jcs-2022"},
		{"the purpose", `"proofPurpose": "assertionMethod"`, `"proofPurpose": "authentication"`, "purpose"},
		{"another key", vectorKeyID + `"`, `https://evil.example/k"`, "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(signed, tc.from, tc.to, 1)
			if bad == signed {
				t.Fatal("the replacement changed nothing")
			}
			_, err := Verify([]byte(bad), vectorResolver(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := Verify([]byte(vectorDoc), vectorResolver(t)); !errors.Is(err, ErrNoProof) {
		t.Fatalf("unsigned: %v", err)
	}
}

func TestProofSet(t *testing.T) {
	k1 := vectorKey(t)
	_, k2, _ := ed25519.GenerateKey(nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	one, err := Sign([]byte(vectorDoc), k1, "a#k", now)
	if err != nil {
		t.Fatal(err)
	}
	two, err := Sign(one, k2, "b#k", now)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]ed25519.PublicKey{"a#k": k1.Public().(ed25519.PublicKey), "b#k": k2.Public().(ed25519.PublicKey)}
	proofs, err := Verify(two, func(vm string) (ed25519.PublicKey, error) { return keys[vm], nil })
	if err != nil || len(proofs) != 2 {
		t.Fatalf("%v %v", proofs, err)
	}
}

// RFC 8785 appendix B and §3.2.2.3 samples of number serialisation.
func TestCanonicalNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "-0": "0", "1": "1", "-1": "-1", "1.0": "1", "333333333.33333329": "333333333.3333333",
		"1E30": "1e+30", "4.50": "4.5", "2e-3": "0.002", "0.000001": "0.000001", "0.0000001": "1e-7",
		"9007199254740992": "9007199254740992", "1e21": "1e+21", "1e20": "100000000000000000000",
		"5e-324": "5e-324", "1.7976931348623157e308": "1.7976931348623157e+308", "-1.5e-10": "-1.5e-10",
		"295147905179352830000": "295147905179352830000", "0.1": "0.1", "123.456": "123.456",
	} {
		got, err := formatNumber(in)
		if err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
}

// The example of RFC 8785 §3.2.4 (sorting) and §3.2.2 (strings).
func TestCanonicalize(t *testing.T) {
	in := `{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
	  "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}`
	want := "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\"," +
		"\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"
	got, err := Canonicalize([]byte(in))
	if err != nil || string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s (%v)", got, want, err)
	}
	got, _ = Canonicalize([]byte(`{"s":"\u001f\u000a<>&\u2028\"\\/","n":[56,{"d":true,"10":null,"1":[]}]}`))
	if want := `{"n":[56,{"1":[],"10":null,"d":true}],"s":"\u001f\n<>&` + "\u2028" + `\"\\/"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for _, bad := range []string{`{"a":1,"a":2}`, `{"a":1} x`, `[1e999]`, strings.Repeat("[", 100) + strings.Repeat("]", 100)} {
		if _, err := Canonicalize([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
