package coopfed

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Report origins: a Flag received from another instance, or a report a
// member of a local coop made here.
const (
	ReportRemote = "remote"
	ReportLocal  = "local"
)

// Report states.
const (
	ReportOpen     = "open"
	ReportResolved = "resolved"
)

// Resolutions an admin may give a report.
const (
	ResolveDismiss     = "dismiss"      // nothing to do
	ResolveRemove      = "remove"       // the reported listings leave the market
	ResolveBlockActor  = "block_actor"  // the reported account is blocked
	ResolveBlockDomain = "block_domain" // the reported account's domain is blocked
)

// MaxReportComment bounds a report's comment; Mastodon allows 1000
// characters.
const MaxReportComment = 1000

// MaxReportObjects bounds how many objects one report names.
const MaxReportObjects = 20

// Report is a moderation report (ActivityStreams Flag).
type Report struct {
	ID     int64
	CoopID int64 // the coop whose admins handle it; 0: the instance operator
	Origin string
	// FlagIRI is the Flag received (remote), or the one sent when a local
	// report was forwarded to the reported account's instance.
	FlagIRI        string
	ReporterIRI    string // the actor that sent the Flag (remote)
	ReporterMember string // the member who reported (local)
	TargetActor    string // the account reported
	Objects        []string
	Comment        string
	State          string
	Resolution     string
	ForwardedAt    *time.Time
	CreatedAt      time.Time
	ResolvedAt     *time.Time
}

// Validate checks a report before it is stored.
func (r *Report) Validate() error {
	fields := map[string]string{}
	r.Comment = strings.TrimSpace(r.Comment)
	if utf8.RuneCountInString(r.Comment) > MaxReportComment {
		fields["comment"] = "at most 1000 characters"
	}
	if r.TargetActor == "" && len(r.Objects) == 0 {
		fields["object"] = "name what you report"
	}
	if len(r.Objects) > MaxReportObjects {
		fields["object"] = "at most 20 objects in one report"
	}
	if r.Origin != ReportRemote && r.Origin != ReportLocal {
		fields["origin"] = "must be remote or local"
	}
	return FieldErrors(fields)
}

// ValidResolution reports whether s names a resolution.
func ValidResolution(s string) bool {
	switch s {
	case ResolveDismiss, ResolveRemove, ResolveBlockActor, ResolveBlockDomain:
		return true
	}
	return false
}
