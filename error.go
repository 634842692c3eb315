// Package coopfed holds the domain of a federated server for platform
// cooperatives: coops, their followers, announcements and the rules that
// govern them. It imports only the standard library; storage, federation and
// HTTP live in subpackages that depend on it, never the reverse.
package coopfed

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. handlers maps each to one HTTP status.
const (
	EINVALID      = "invalid"      // input failed validation (400/422)
	ENOTFOUND     = "not_found"    // no such object (404)
	EGONE         = "gone"         // object deleted, tombstone kept (410)
	ECONFLICT     = "conflict"     // state forbids the change (409)
	EUNAUTHORIZED = "unauthorized" // no or bad credentials (401)
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed (403)
	ETOOLARGE     = "too_large"    // request body over the limit (413)
	EUNSUPPORTED  = "unsupported"  // media type not accepted (415)
	ERATELIMIT    = "rate_limited" // too many requests (429)
	EINTERNAL     = "internal"     // anything else (500)
	EUNAVAILABLE  = "unavailable"  // a remote server could not be reached (502)
)

// Error is a domain error with a code, a message safe to show to clients and,
// for validation failures, the problem with each field.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("coopfed error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors returns an EINVALID error naming the problem with each field,
// or nil when fields is empty.
func FieldErrors(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "some fields are not valid", Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error message, or
// "internal error" for anything else so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
