package coopfed_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/coopfed/coopfed"
)

// fieldProblem returns the problem err reports for field, or "" when err
// is not a validation error naming it.
func fieldProblem(err error, field string) string {
	var e *coopfed.Error
	if !errors.As(err, &e) || e.Code != coopfed.EINVALID {
		return ""
	}
	return e.Fields[field]
}

func TestValidateCoopName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"bakery", true},
		{"a", true},
		{"coop_42", true},
		{"_", true},
		{strings.Repeat("a", 30), true},
		{strings.Repeat("a", 31), false},
		{"", false},
		{"Bakery", false}, // handles are lower-case so that one name is one coop
		{"my-coop", false},
		{"my coop", false},
		{"coop.example", false},
		{"café", false},
		{"bakery\n", false},
		{"../admin", false},
		// Reserved: instance-level accounts or misleading names.
		{"actor", false},
		{"admin", false},
		{"root", false},
		{"instance", false},
		{"inbox", false},
		{"api", false},
	}
	for _, tt := range tests {
		err := coopfed.ValidateCoopName(tt.name)
		if tt.ok && err != nil {
			t.Errorf("ValidateCoopName(%q) = %v, want ok", tt.name, err)
		}
		if !tt.ok && fieldProblem(err, "name") == "" {
			t.Errorf("ValidateCoopName(%q) = %v, want a problem with the name field", tt.name, err)
		}
	}
}

func TestCoopValidate(t *testing.T) {
	valid := func() coopfed.Coop {
		return coopfed.Coop{Name: "bakery", DisplayName: "The Bakery", Summary: "Bread", PublicKeyPEM: "pub", PrivateKeyPEM: "priv"}
	}
	tests := []struct {
		name   string
		change func(c *coopfed.Coop)
		field  string // "" when the coop is valid
	}{
		{"valid", func(c *coopfed.Coop) {}, ""},
		{"no display name", func(c *coopfed.Coop) { c.DisplayName = "" }, ""},
		{"display name of 100", func(c *coopfed.Coop) { c.DisplayName = strings.Repeat("x", 100) }, ""},
		{"display name of 101", func(c *coopfed.Coop) { c.DisplayName = strings.Repeat("x", 101) }, "display_name"},
		{"summary of 5000", func(c *coopfed.Coop) { c.Summary = strings.Repeat("x", 5000) }, ""},
		{"summary of 5001", func(c *coopfed.Coop) { c.Summary = strings.Repeat("x", 5001) }, "summary"},
		{"no public key", func(c *coopfed.Coop) { c.PublicKeyPEM = "" }, "key"},
		{"no private key", func(c *coopfed.Coop) { c.PrivateKeyPEM = "" }, "key"},
		{"bad name", func(c *coopfed.Coop) { c.Name = "Bad Name" }, "name"},
		{"reserved name", func(c *coopfed.Coop) { c.Name = "admin" }, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want ok", err)
				}
				return
			}
			if fieldProblem(err, tt.field) == "" {
				t.Errorf("Validate() = %v, want a problem with %q", err, tt.field)
			}
		})
	}
}

func TestCoopValidateReportsEveryFieldAtOnce(t *testing.T) {
	c := coopfed.Coop{Name: "bakery", DisplayName: strings.Repeat("x", 101), Summary: strings.Repeat("x", 5001)}
	err := c.Validate()
	for _, field := range []string{"display_name", "summary", "key"} {
		if fieldProblem(err, field) == "" {
			t.Errorf("Validate() = %v, want a problem with %q too", err, field)
		}
	}
}

func TestCoopTitle(t *testing.T) {
	for _, tt := range []struct{ display, want string }{
		{"The Bakery", "The Bakery"},
		{"", "bakery"},
		{"   ", "bakery"},
	} {
		c := coopfed.Coop{Name: "bakery", DisplayName: tt.display}
		if got := c.Title(); got != tt.want {
			t.Errorf("Title() with display name %q = %q, want %q", tt.display, got, tt.want)
		}
	}
}
