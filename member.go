package coopfed

import (
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Member roles. Admins manage members and motions; every member votes.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// MaxMemberActors bounds the fediverse accounts one member may link.
const MaxMemberActors = 10

// Member is a person who belongs to a coop: distinct from its followers, a
// member is eligible to vote on the coop's motions. Linked fediverse actors
// (their Mastodon account, say) let them vote from there.
type Member struct {
	ID        int64
	CoopID    int64
	Username  string
	Role      string
	Actors    []string // linked actor IRIs
	CreatedAt time.Time
}

var usernameRE = regexp.MustCompile(`^[a-z0-9_][a-z0-9_.-]{0,29}$`)

// ValidateUsername reports whether name can be a member's username.
func ValidateUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return FieldErrors(map[string]string{"username": "use 1 to 30 lowercase letters, digits, '_', '.' or '-'"})
	}
	return nil
}

// Normalize trims the fields and drops duplicate actors.
func (m *Member) Normalize() {
	m.Username = strings.TrimSpace(m.Username)
	m.Role = strings.TrimSpace(m.Role)
	if m.Role == "" {
		m.Role = RoleMember
	}
	seen := map[string]bool{}
	actors := make([]string, 0, len(m.Actors))
	for _, a := range m.Actors {
		a = strings.TrimSpace(a)
		if a != "" && !seen[a] {
			seen[a] = true
			actors = append(actors, a)
		}
	}
	m.Actors = actors
}

// Validate checks a member before it is stored.
func (m *Member) Validate() error {
	fields := map[string]string{}
	if err := ValidateUsername(m.Username); err != nil {
		fields["username"] = err.(*Error).Fields["username"]
	}
	if m.Role != RoleAdmin && m.Role != RoleMember {
		fields["role"] = "admin or member"
	}
	if len(m.Actors) > MaxMemberActors {
		fields["actors"] = "at most 10 linked accounts"
	}
	for _, a := range m.Actors {
		if !ValidActorIRI(a) {
			fields["actors"] = "each linked account must be an actor IRI (https://host/...): " + a
			break
		}
	}
	return FieldErrors(fields)
}

// ValidActorIRI reports whether s is an absolute http(s) IRI with a host
// and no fragment, the shape of an actor id.
func ValidActorIRI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.Fragment == "" && len(s) <= 2048
}
