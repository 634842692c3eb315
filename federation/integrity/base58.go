package integrity

import (
	"errors"
	"math/big"
)

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() [256]int8 {
	var idx [256]int8
	for i := range idx {
		idx[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		idx[base58Alphabet[i]] = int8(i)
	}
	return idx
}()

// encodeBase58 encodes b in the Bitcoin base58 alphabet; each leading zero
// byte becomes a leading '1'.
func encodeBase58(b []byte) string {
	n := new(big.Int).SetBytes(b)
	var out []byte
	mod, radix := new(big.Int), big.NewInt(58)
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// maxBase58 bounds what is decoded: the values here are keys and
// signatures, well under 200 characters.
const maxBase58 = 256

func decodeBase58(s string) ([]byte, error) {
	if len(s) > maxBase58 {
		return nil, errors.New("base58 value too long")
	}
	n, radix := new(big.Int), big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := base58Index[s[i]]
		if d < 0 {
			return nil, errors.New("not base58")
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(d)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}

// EncodeMultibase returns b as a base58btc multibase string ('z' prefix).
func EncodeMultibase(b []byte) string { return "z" + encodeBase58(b) }

// DecodeMultibase decodes a base58btc multibase string; other bases are
// refused, as eddsa-jcs-2022 and Multikey use only this one.
func DecodeMultibase(s string) ([]byte, error) {
	if len(s) < 2 || s[0] != 'z' {
		return nil, errors.New("not a base58btc multibase value (it must start with z)")
	}
	return decodeBase58(s[1:])
}
