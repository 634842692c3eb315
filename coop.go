package coopfed

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Local actor kinds: a coop (an Organization) or a market group (a Group)
// hosted on this instance. Both have a name in one namespace, a key pair and
// followers; a group's followers are its members.
const (
	KindCoop  = "coop"
	KindGroup = "group"
)

// Coop is a cooperative hosted on this instance. Each coop is an ActivityPub
// actor of type Organization with its own RSA key pair. A market group is
// stored the same way with Kind KindGroup (see Group).
type Coop struct {
	ID          int64
	Kind        string // KindCoop (also when empty) or KindGroup
	Name        string // the handle's local part: lowercase letters, digits, underscore
	DisplayName string
	Summary     string // plain text
	Region      string // a place name, shown in directories
	// Locked coops approve followers by hand (manuallyApprovesFollowers).
	Locked        bool
	PublicKeyPEM  string
	PrivateKeyPEM string
	// PaymentLinks are where to pay or give to the coop (FEP-0ea0).
	PaymentLinks []PaymentLink
	CreatedAt    time.Time
}

// PaymentLink is a FEP-0ea0 payment link: a name and a payment URI (a
// web page or an RFC 8905 payto: URI).
type PaymentLink struct {
	Name string `json:"name"`
	Href string `json:"href"`
}

// MaxPaymentLinks bounds a coop's payment links.
const MaxPaymentLinks = 5

// validatePaymentLinks reports what is wrong with a coop's payment links,
// or "".
func validatePaymentLinks(links []PaymentLink) string {
	if len(links) > MaxPaymentLinks {
		return "at most 5 payment links"
	}
	for i, l := range links {
		n := i + 1
		if name := strings.TrimSpace(l.Name); name == "" || utf8.RuneCountInString(name) > 100 {
			return fmt.Sprintf("link %d: a name of 1 to 100 characters", n)
		}
		if len(l.Href) > 1000 {
			return fmt.Sprintf("link %d: the address is longer than 1000 characters", n)
		}
		u, err := url.Parse(l.Href)
		// Why: the links are shown to everyone as links; only web pages
		// and payto: URIs, never javascript: or data:, may be followed.
		switch {
		case err != nil:
			return fmt.Sprintf("link %d: not an address", n)
		case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "":
		case u.Scheme == "payto" && u.Host != "" && len(u.Path) > 1:
		default:
			return fmt.Sprintf("link %d: use an https:// address or a payto:// URI", n)
		}
	}
	return ""
}

var coopNameRE = regexp.MustCompile(`^[a-z0-9_]{1,30}$`)

// reservedNames cannot be coop names: they would collide with instance-level
// accounts that other servers expect (the instance actor) or mislead users.
var reservedNames = map[string]bool{
	"actor": true, "admin": true, "root": true, "instance": true, "inbox": true, "api": true,
}

// ValidateCoopName reports whether name can be a coop's handle.
func ValidateCoopName(name string) error {
	if !coopNameRE.MatchString(name) {
		return FieldErrors(map[string]string{"name": "use 1 to 30 lowercase letters, digits or underscores"})
	}
	if reservedNames[name] {
		return FieldErrors(map[string]string{"name": "this name is reserved"})
	}
	return nil
}

// Validate checks the fields a coop must have before it is stored.
func (c *Coop) Validate() error {
	if err := ValidateCoopName(c.Name); err != nil {
		return err
	}
	fields := map[string]string{}
	if utf8.RuneCountInString(c.DisplayName) > 100 {
		fields["display_name"] = "at most 100 characters"
	}
	if utf8.RuneCountInString(c.Summary) > 5000 {
		fields["summary"] = "at most 5000 characters"
	}
	if utf8.RuneCountInString(c.Region) > MaxRegion {
		fields["region"] = "at most 100 characters"
	}
	if c.Kind != "" && c.Kind != KindCoop && c.Kind != KindGroup {
		fields["kind"] = "must be coop or group"
	}
	if msg := validatePaymentLinks(c.PaymentLinks); msg != "" {
		fields["payment_links"] = msg
	}
	if c.PublicKeyPEM == "" || c.PrivateKeyPEM == "" {
		fields["key"] = "a key pair is required"
	}
	return FieldErrors(fields)
}

// MaxRegion bounds a region's name.
const MaxRegion = 100

// IsGroup reports whether the local actor is a market group.
func (c *Coop) IsGroup() bool { return c.Kind == KindGroup }

// Title returns the display name, or the handle when it has none.
func (c *Coop) Title() string {
	if strings.TrimSpace(c.DisplayName) != "" {
		return c.DisplayName
	}
	return c.Name
}
