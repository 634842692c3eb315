package coopfed

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Member classes: a multi-stakeholder coop sorts its members into classes
// (workers, consumers, supporters, ...), each member in at most one. A
// motion may weigh each class's votes, count each class apart and carry
// only with a majority in every class, and let only some classes vote.

// How a motion counts its classes.
const (
	// CountEveryone counts one member, one vote, whatever the class.
	CountEveryone = ""
	// CountWeighted counts each member's vote with the weight of the
	// member's class (classes not weighted weigh 1).
	CountWeighted = "weighted"
	// CountByClass counts each class apart with the motion's rules; the
	// motion carries only when it carries in every class.
	CountByClass = "separate"
)

// Limits of classes.
const (
	MaxClasses     = 10
	MaxClassWeight = 100
	MaxClassTitle  = 60
)

// MemberClass is one class of a coop's members.
type MemberClass struct {
	ID     int64
	CoopID int64
	// Name is the class's key, as motions and the wire name it; Title is
	// how people read it.
	Name      string
	Title     string
	CreatedAt time.Time
}

var classNameRE = regexp.MustCompile(`^[a-z0-9_][a-z0-9_-]{0,29}$`)

// Normalize trims the fields; the title defaults to the name.
func (c *MemberClass) Normalize() {
	c.Name = strings.ToLower(strings.TrimSpace(c.Name))
	c.Title = strings.TrimSpace(c.Title)
	if c.Title == "" {
		c.Title = c.Name
	}
}

// Validate checks a class before it is stored.
func (c *MemberClass) Validate() error {
	fields := map[string]string{}
	if !classNameRE.MatchString(c.Name) {
		fields["name"] = "use 1 to 30 lowercase letters, digits, '_' or '-'"
	}
	if utf8.RuneCountInString(c.Title) > MaxClassTitle {
		fields["title"] = fmt.Sprintf("at most %d characters", MaxClassTitle)
	}
	return FieldErrors(fields)
}

// ClassWeight is the weight of one class's votes on a weighted motion.
type ClassWeight struct {
	Class  string `json:"class"`
	Weight int    `json:"weight"`
}

// ClassEligible is the number of members of one class eligible to vote,
// fixed when the motion opens. Class "" holds the members of no class.
type ClassEligible struct {
	Class    string `json:"class"`
	Eligible int    `json:"eligible"`
}

// ClassResult is one class's tally on a motion counted by class.
type ClassResult struct {
	Class string
	Result
}

// weightOf returns the weight of a class's votes on the motion: 1 unless
// the motion is weighted and names the class.
func (m *Motion) weightOf(class string) int {
	if m.ClassCount != CountWeighted {
		return 1
	}
	for _, w := range m.Weights {
		if w.Class == class {
			return w.Weight
		}
	}
	return 1
}

// ClassVotes reports whether members of a class vote on the motion: every
// class when the motion names none.
func (m *Motion) ClassVotes(class string) bool {
	return len(m.Classes) == 0 || slices.Contains(m.Classes, class)
}

// validateClasses checks the class rules of a motion, filing problems in
// fields. The classes' existence is the coop's to check (CheckClasses).
func (m *Motion) validateClasses(fields map[string]string) {
	switch m.ClassCount {
	case CountEveryone, CountWeighted, CountByClass:
	default:
		fields["class_count"] = "weighted or separate, or leave it out to count one member one vote"
		return
	}
	if m.ClassCount != CountEveryone && m.Kind == MotionAdvice {
		fields["class_count"] = "an advice motion decides nothing; classes are not counted"
	}
	switch {
	case m.ClassCount == CountWeighted && len(m.Weights) == 0:
		fields["weights"] = "give the weight of at least one class"
	case m.ClassCount != CountWeighted && len(m.Weights) > 0:
		fields["weights"] = "only a weighted motion has weights"
	case len(m.Weights) > MaxClasses:
		fields["weights"] = fmt.Sprintf("at most %d classes", MaxClasses)
	}
	seen := map[string]bool{}
	for _, w := range m.Weights {
		switch {
		case seen[w.Class]:
			fields["weights"] = "a class is weighted twice: " + w.Class
		case w.Weight < 1 || w.Weight > MaxClassWeight:
			// Why: a weight of 0 would let a class vote and count for
			// nothing; leaving it out of the eligible classes says so.
			fields["weights"] = fmt.Sprintf("each weight is a whole number from 1 to %d", MaxClassWeight)
		}
		seen[w.Class] = true
	}
	if len(m.Classes) > MaxClasses {
		fields["classes"] = fmt.Sprintf("at most %d classes", MaxClasses)
	}
	seen = map[string]bool{}
	for _, c := range m.Classes {
		if seen[c] {
			fields["classes"] = "a class is named twice: " + c
		}
		seen[c] = true
	}
	for _, w := range m.Weights {
		if !m.ClassVotes(w.Class) {
			fields["weights"] = "a weighted class does not vote on this motion: " + w.Class
		}
	}
}

// CheckClasses reports classes a motion names that the coop does not have.
func (m *Motion) CheckClasses(classes []*MemberClass) error {
	known := map[string]bool{}
	for _, c := range classes {
		known[c.Name] = true
	}
	for _, c := range m.Classes {
		if !known[c] {
			return FieldErrors(map[string]string{"classes": "the coop has no class " + c})
		}
	}
	for _, w := range m.Weights {
		if !known[w.Class] {
			return FieldErrors(map[string]string{"weights": "the coop has no class " + w.Class})
		}
	}
	if m.ClassCount != CountEveryone && len(classes) == 0 {
		return FieldErrors(map[string]string{"class_count": "the coop has no member classes yet"})
	}
	return nil
}

// tallyByClass counts each class apart with the motion's rules and
// decides the motion from the classes' outcomes:
//   - a class without quorum leaves the whole motion without quorum;
//   - a block in any class blocks it (consent);
//   - it carries with the options that carried in every class (the same
//     winner of a choice, the options each class approved of a multiple
//     choice); otherwise it does not carry.
//
// Classes with no eligible member take no part. The overall counts are the
// sum of the classes', one member one vote.
func tallyByClass(m *Motion, eligible int, ballots []Ballot) Result {
	plain := *m
	plain.ClassCount = CountEveryone
	r := Tally(&plain, eligible, ballots)
	r.Carried = nil
	quorum, blocked := true, false
	var carried []string
	first := true
	for _, ce := range m.ClassEligible {
		if ce.Eligible == 0 {
			continue
		}
		var mine []Ballot
		for _, b := range ballots {
			if b.Class == ce.Class {
				mine = append(mine, b)
			}
		}
		cr := Tally(&plain, ce.Eligible, mine)
		r.Classes = append(r.Classes, ClassResult{Class: ce.Class, Result: cr})
		switch cr.Outcome {
		case OutcomeNoQuorum:
			quorum = false
		case OutcomeBlocked:
			blocked = true
		}
		if first {
			carried, first = slices.Clone(cr.Carried), false
		} else {
			carried = slices.DeleteFunc(carried, func(o string) bool { return !slices.Contains(cr.Carried, o) })
		}
	}
	r.QuorumMet = quorum
	switch {
	case m.Kind == MotionAdvice:
		r.Outcome = OutcomeNone
	case !quorum:
		r.Outcome = OutcomeNoQuorum
	case blocked:
		r.Outcome = OutcomeBlocked
	case len(carried) > 0:
		r.Outcome, r.Carried = OutcomeCarried, carried
	default:
		r.Outcome = OutcomeNotCarried
	}
	return r
}

// ClassWords names a class as the tally shows it.
func ClassWords(class string) string {
	if class == "" {
		return "no class"
	}
	return class
}

// describeClasses adds the class rules and each class's outcome to a
// result's words.
func (r Result) describeClasses(m *Motion, b *strings.Builder) {
	switch m.ClassCount {
	case CountWeighted:
		parts := make([]string, 0, len(m.Weights))
		for _, w := range m.Weights {
			parts = append(parts, fmt.Sprintf("%s %d", w.Class, w.Weight))
		}
		fmt.Fprintf(b, " Votes weighted by class: %s; other classes 1.", strings.Join(parts, ", "))
	case CountByClass:
		b.WriteString(" Counted by class, carrying only if it carries in every class:")
		for i, cr := range r.Classes {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(b, " %s %s (%d of %d voted", ClassWords(cr.Class), OutcomeWords(cr.Outcome), cr.Voters, cr.Eligible)
			for _, oc := range cr.Options {
				fmt.Fprintf(b, ", %s %d", optionWords(m, oc.Name), oc.Votes)
			}
			b.WriteString(")")
		}
		b.WriteString(".")
	}
}

// classRules states who votes and how classes count, in words.
func (m *Motion) classRules() string {
	var parts []string
	if len(m.Classes) > 0 {
		parts = append(parts, "Only members of the classes "+strings.Join(m.Classes, ", ")+" vote.")
	}
	switch m.ClassCount {
	case CountWeighted:
		ws := make([]string, 0, len(m.Weights))
		for _, w := range m.Weights {
			ws = append(ws, fmt.Sprintf("%s %d", w.Class, w.Weight))
		}
		parts = append(parts, "Each vote counts the weight of the member's class: "+strings.Join(ws, ", ")+"; other classes 1.")
	case CountByClass:
		parts = append(parts, "Each class is counted apart with these rules; the motion carries only if it carries in every class.")
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}
