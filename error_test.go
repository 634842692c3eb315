package coopfed_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/coopfed/coopfed"
)

func TestErrorCodeAndMessage(t *testing.T) {
	notFound := coopfed.Errorf(coopfed.ENOTFOUND, "coop %s not found", "bakery")
	tests := []struct {
		name    string
		err     error
		code    string
		message string
	}{
		{"nil", nil, "", ""},
		{"domain error", notFound, coopfed.ENOTFOUND, "coop bakery not found"},
		{"wrapped domain error", fmt.Errorf("store: lookup: %w", notFound), coopfed.ENOTFOUND, "coop bakery not found"},
		{"joined errors", errors.Join(io.EOF, notFound), coopfed.ENOTFOUND, "coop bakery not found"},
		// Anything else is internal and its text never reaches clients.
		{"plain error", errors.New("sqlite: disk I/O error at /var/lib/coopfed.db"), coopfed.EINTERNAL, "internal error"},
		{"wrapped plain error", fmt.Errorf("store: %w", io.ErrUnexpectedEOF), coopfed.EINTERNAL, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := coopfed.ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := coopfed.ErrorMessage(tt.err); got != tt.message {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.message)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	err := coopfed.Errorf(coopfed.ECONFLICT, "a coop named %q already exists", "bakery")
	got := err.Error()
	if !strings.Contains(got, "conflict") || !strings.Contains(got, `a coop named "bakery" already exists`) {
		t.Errorf("Error() = %q, want the code and the message", got)
	}
}

func TestFieldErrors(t *testing.T) {
	if err := coopfed.FieldErrors(nil); err != nil {
		t.Errorf("FieldErrors(nil) = %v, want nil", err)
	}
	// An empty map is no error: callers collect problems and return the
	// result unconditionally.
	if err := coopfed.FieldErrors(map[string]string{}); err != nil {
		t.Errorf("FieldErrors(empty) = %v, want nil", err)
	}
	err := coopfed.FieldErrors(map[string]string{"name": "too long"})
	if coopfed.ErrorCode(err) != coopfed.EINVALID {
		t.Errorf("code = %q, want %q", coopfed.ErrorCode(err), coopfed.EINVALID)
	}
	if fieldProblem(err, "name") != "too long" {
		t.Errorf("fields of %v do not carry the problem", err)
	}
	if coopfed.ErrorMessage(err) == "" || coopfed.ErrorMessage(err) == "internal error" {
		t.Errorf("message = %q, want a client-safe summary", coopfed.ErrorMessage(err))
	}
}
