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

// Member kinds: a person, or a coop that is a member of a federation (a
// coop of coops) and votes through its own actor.
const (
	MemberPerson = "person"
	MemberCoop   = "coop"
)

// MaxMemberActors bounds the fediverse accounts one member may link.
const MaxMemberActors = 10

// Member is a person who belongs to a coop: distinct from its followers, a
// member is eligible to vote on the coop's motions. Linked fediverse actors
// (their Mastodon account, say) let them vote from there.
type Member struct {
	ID       int64
	CoopID   int64
	Username string
	Role     string
	Actors   []string // linked actor IRIs
	// Class is the member's class (MemberClass.Name), "" for none; Kind is
	// MemberPerson or MemberCoop (whose one actor is the member coop's).
	Class     string
	Kind      string
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
	m.Class = strings.ToLower(strings.TrimSpace(m.Class))
	m.Kind = strings.TrimSpace(m.Kind)
	if m.Kind == "" {
		m.Kind = MemberPerson
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
	switch {
	case m.Kind != "" && m.Kind != MemberPerson && m.Kind != MemberCoop:
		fields["kind"] = "person or coop"
	case m.Kind == MemberCoop && len(m.Actors) != 1:
		// Why: a member coop votes as one actor, its own; a second
		// account would let someone else cast the coop's vote.
		fields["actors"] = "a member coop has exactly one account: the coop's actor"
	case m.Kind == MemberCoop && m.Role == RoleAdmin:
		fields["role"] = "a member coop cannot be an admin"
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
