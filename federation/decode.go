package federation

import segjson "github.com/segmentio/encoding/json"

// decodeJSON decodes what peers send and serve. It is encoding/json's
// Unmarshal in behaviour (segmentio/encoding passes the standard library's
// own decoding tests: the same errors for malformed input, the same
// handling of invalid UTF-8, duplicate keys, RawMessage and Unmarshaler),
// at about half its cost: on the inbox's hot path decoding an activity and
// its object was the largest share of the CPU after the signature.
func decodeJSON(data []byte, v any) error {
	return segjson.Unmarshal(data, v)
}
