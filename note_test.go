package coopfed_test

import (
	"strings"
	"testing"

	"github.com/coopfed/coopfed"
)

func TestNoteValidate(t *testing.T) {
	tests := []struct {
		name    string
		content string
		ok      bool
	}{
		{"short text", "Fresh bread on Friday", true},
		{"one character", "x", true},
		{"empty", "", false},
		{"only white space", " \n\t ", false},
		{"at the limit", strings.Repeat("a", coopfed.MaxNoteLength), true},
		{"over the limit", strings.Repeat("a", coopfed.MaxNoteLength+1), false},
		// The limit counts characters, not bytes: 5000 "é" are 10000 bytes.
		{"multibyte at the limit", strings.Repeat("é", coopfed.MaxNoteLength), true},
		{"multibyte over the limit", strings.Repeat("é", coopfed.MaxNoteLength+1), false},
		// Surrounding white space does not count against the limit.
		{"padded at the limit", "\n  " + strings.Repeat("a", coopfed.MaxNoteLength) + "  \n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := coopfed.Note{Content: tt.content}
			err := n.Validate()
			if tt.ok && err != nil {
				t.Errorf("Validate() = %v, want ok", err)
			}
			if !tt.ok && fieldProblem(err, "content") == "" {
				t.Errorf("Validate() = %v, want a problem with the content field", err)
			}
		})
	}
}
