package coopfed

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Motion kinds.
const (
	// MotionConsent is a proposal answered Agree, Abstain, Disagree or
	// Block; any block stops it (Loomio's proposal).
	MotionConsent = "consent"
	// MotionChoice asks for one option.
	MotionChoice = "choice"
	// MotionMultiple lets each member approve several options.
	MotionMultiple = "multiple"
	// MotionRanked has each member rank the options; Method decides how
	// (instant runoff or Borda count).
	MotionRanked = "ranked"
	// MotionScore gives each member Dots dots to spread over the options
	// (a dot vote).
	MotionScore = "score"
	// MotionPoll is a time poll: the options are meeting slots and each
	// member picks every slot they can attend.
	MotionPoll = "poll"
	// MotionAdvice is an advice process or sense check: members state a
	// position with a reason, and nothing is decided.
	MotionAdvice = "advice"
)

// Methods of a ranked choice motion.
const (
	// MethodIRV is instant runoff: the option with fewest first
	// preferences is eliminated, round by round, until one reaches the
	// threshold of the ballots still counting.
	MethodIRV = "irv"
	// MethodBorda scores each ranking: with n options, a first preference
	// earns n-1 points, the next n-2, and so on; unranked options earn 0.
	MethodBorda = "borda"
)

// AdviceOptions are the positions of an advice motion when none are given
// (Loomio's sense check).
var AdviceOptions = []string{"Looks good", "Not sure", "Concerned"}

// Motion states. A motion whose voting opens later is scheduled; its
// eligible members are fixed when it opens.
const (
	MotionScheduled = "scheduled"
	MotionOpen      = "open"
	MotionClosed    = "closed"
)

// The options of a consent motion.
const (
	ConsentAgree    = "Agree"
	ConsentAbstain  = "Abstain"
	ConsentDisagree = "Disagree"
	ConsentBlock    = "Block"
)

// ConsentOptions are the fixed options of a consent motion, in order.
var ConsentOptions = []string{ConsentAgree, ConsentAbstain, ConsentDisagree, ConsentBlock}

// Outcomes of a closed motion.
const (
	OutcomeCarried    = "carried"
	OutcomeNotCarried = "not_carried"
	OutcomeBlocked    = "blocked"
	OutcomeNoQuorum   = "no_quorum"
	// OutcomeNone closes an advice motion: positions were gathered and
	// nothing was decided.
	OutcomeNone = ""
)

// Limits of a motion.
const (
	MaxMotionTitle    = 200
	MaxMotionText     = 5000
	MaxMotionOptions  = 10
	MaxOptionLength   = 100
	MaxMotionDuration = 366 * 24 * time.Hour
	MaxDots           = 100
	MaxReason         = 1000
)

// Motion is a decision a coop puts to its members: a poll on the wire.
type Motion struct {
	ID      int64
	IRI     string
	CoopID  int64
	Title   string
	Text    string // plain text
	Kind    string
	Options []string
	// Method is how a ranked motion is counted (MethodIRV, MethodBorda);
	// Dots the allowance of each member in a score vote.
	Method    string
	Dots      int
	OpensAt   time.Time
	ClosesAt  time.Time
	Quorum    float64 // share of eligible members who must vote, 0 to 1
	Threshold float64 // share of counted votes needed to carry, above 0 to 1
	State     string
	// Outcome and OutcomeText are set when the motion closes.
	Outcome     string
	OutcomeText string
	// OutcomeIRI is the Note that published the outcome.
	OutcomeIRI string
	ClosedAt   *time.Time
	CreatedAt  time.Time
	// Eligible is the number of members eligible to vote, fixed when the
	// motion opens.
	Eligible int
	// LastTally is when a tally Update was last sent; NextTally when the
	// next one is due (nil: none pending).
	LastTally *time.Time
	NextTally *time.Time
	// Phase is where the motion is in its cycle (PhaseDiscussion ...
	// PhaseReview). Discussed is set on a motion published for discussion
	// before voting opens.
	Phase     string
	Discussed bool
	// ReviewAt is the review date; RemindedAt when the review began and
	// ReviewIRI the Note that reminded the coop's followers.
	ReviewAt   *time.Time
	RemindedAt *time.Time
	ReviewIRI  string
	// FollowUpOf is the IRI of the motion whose review opened this one.
	FollowUpOf string
	// ClassCount is how member classes count (CountEveryone,
	// CountWeighted, CountByClass); Weights the weight of each class's
	// votes on a weighted motion; Classes the classes whose members vote,
	// every class when empty.
	ClassCount string
	Weights    []ClassWeight
	Classes    []string
	// ClassEligible is the eligible members by class, fixed when the
	// motion opens, in class order.
	ClassEligible []ClassEligible
	// MirrorOf is the Question of a federation (a coop of coops) this
	// motion puts to the coop's own members; MirrorActor is the
	// federation's actor. The motion's outcome is cast as the coop's vote
	// there when it closes, and CastIRI is that vote's id.
	MirrorOf, MirrorActor, CastIRI string
}

// Multiple reports whether a member's ballot may hold several options.
func (m *Motion) Multiple() bool {
	switch m.Kind {
	case MotionMultiple, MotionRanked, MotionScore, MotionPoll:
		return true
	}
	return false
}

// Mapped reports whether the motion is a poll any fediverse server can
// vote on: one or several options, each vote naming one. Ranked and score
// ballots carry an order or numbers that a poll vote cannot, so those
// motions are voted on at the coop's page, through the API or by servers
// that know the extension terms (FEDERATION.md).
func (m *Motion) Mapped() bool {
	return m.Kind != MotionRanked && m.Kind != MotionScore
}

// HasOption reports whether name is one of the motion's options, exactly
// as written (peers send the option's name back as their vote).
func (m *Motion) HasOption(name string) bool {
	for _, o := range m.Options {
		if o == name {
			return true
		}
	}
	return false
}

// IsOpenAt reports whether votes are taken at t.
func (m *Motion) IsOpenAt(t time.Time) bool {
	return m.State == MotionOpen && !t.Before(m.OpensAt) && t.Before(m.ClosesAt)
}

// Normalize trims the fields and fills defaults: the fixed options of a
// consent motion.
func (m *Motion) Normalize() {
	m.Title = strings.TrimSpace(m.Title)
	m.Text = strings.TrimSpace(m.Text)
	m.Kind = strings.TrimSpace(m.Kind)
	opts := make([]string, 0, len(m.Options))
	for _, o := range m.Options {
		opts = append(opts, strings.TrimSpace(o))
	}
	m.Options = opts
	if m.Kind == MotionConsent && len(m.Options) == 0 {
		m.Options = append([]string(nil), ConsentOptions...)
	}
	if m.Kind == MotionAdvice && len(m.Options) == 0 {
		m.Options = append([]string(nil), AdviceOptions...)
	}
	m.Method = strings.TrimSpace(m.Method)
	if m.Kind == MotionRanked && m.Method == "" {
		m.Method = MethodIRV
	}
	if m.Kind == MotionPoll {
		// Slots are kept in one form, UTC to the minute, so that two
		// spellings of one time are one option.
		for i, o := range m.Options {
			if t, err := time.Parse(time.RFC3339, o); err == nil {
				m.Options[i] = t.UTC().Truncate(time.Minute).Format(time.RFC3339)
			}
		}
	}
}

// Validate checks a new motion against the clock reading now.
func (m *Motion) Validate(now time.Time) error {
	fields := map[string]string{}
	switch n := utf8.RuneCountInString(m.Title); {
	case n == 0:
		fields["title"] = "give the motion a title"
	case n > MaxMotionTitle:
		fields["title"] = fmt.Sprintf("at most %d characters", MaxMotionTitle)
	}
	if utf8.RuneCountInString(m.Text) > MaxMotionText {
		fields["text"] = fmt.Sprintf("at most %d characters", MaxMotionText)
	}
	switch m.Kind {
	case MotionConsent:
		if strings.Join(m.Options, "\n") != strings.Join(ConsentOptions, "\n") {
			fields["options"] = "a consent motion has the options Agree, Abstain, Disagree and Block; leave options out"
		}
	case MotionChoice, MotionMultiple, MotionRanked, MotionScore, MotionAdvice:
		if msg := validateOptions(m.Options); msg != "" {
			fields["options"] = msg
		}
	case MotionPoll:
		if msg := validateOptions(m.Options); msg != "" {
			fields["options"] = msg
		}
		for _, o := range m.Options {
			if _, err := time.Parse(time.RFC3339, o); err != nil {
				fields["options"] = "each slot of a time poll is an RFC 3339 time, e.g. 2026-05-01T18:00:00Z: " + o
				break
			}
		}
	default:
		fields["kind"] = "consent, choice, multiple, ranked, score, poll or advice"
	}
	switch {
	case m.Kind == MotionRanked && m.Method != MethodIRV && m.Method != MethodBorda:
		fields["method"] = "irv (instant runoff) or borda"
	case m.Kind != MotionRanked && m.Method != "":
		fields["method"] = "only a ranked motion has a method"
	}
	switch {
	case m.Kind == MotionScore && (m.Dots < 1 || m.Dots > MaxDots):
		fields["dots"] = fmt.Sprintf("each member's dots, from 1 to %d", MaxDots)
	case m.Kind != MotionScore && m.Dots != 0:
		fields["dots"] = "only a score vote has dots"
	}
	if math.IsNaN(m.Quorum) || m.Quorum < 0 || m.Quorum > 1 {
		fields["quorum"] = "a share of the eligible members from 0 to 1 (0.5 is half)"
	}
	if math.IsNaN(m.Threshold) || m.Threshold <= 0 || m.Threshold > 1 {
		fields["threshold"] = "a share of the counted votes above 0 and up to 1 (0.5 is a simple majority)"
	}
	switch {
	case m.ClosesAt.IsZero():
		fields["closes_at"] = "give the deadline (RFC 3339)"
	case !m.ClosesAt.After(now):
		fields["closes_at"] = "the deadline must be in the future"
	case !m.ClosesAt.After(m.OpensAt):
		fields["closes_at"] = "the deadline must be after opens_at"
	case m.ClosesAt.Sub(m.OpensAt) > MaxMotionDuration:
		fields["closes_at"] = "voting may last at most a year"
	}
	m.validateClasses(fields)
	return FieldErrors(fields)
}

func validateOptions(opts []string) string {
	if len(opts) < 2 || len(opts) > MaxMotionOptions {
		return fmt.Sprintf("give 2 to %d options", MaxMotionOptions)
	}
	seen := map[string]bool{}
	for _, o := range opts {
		n := utf8.RuneCountInString(o)
		if n == 0 || n > MaxOptionLength {
			return fmt.Sprintf("each option needs 1 to %d characters", MaxOptionLength)
		}
		// Why: peers name the option they vote for; two options that
		// differ only in case would be ambiguous (FEP-9967: names are
		// unique within a poll).
		k := strings.ToLower(o)
		if seen[k] {
			return "options must differ: " + o
		}
		seen[k] = true
	}
	return ""
}

// ValidateChoices checks the options one member chooses at once.
func (m *Motion) ValidateChoices(choices []string) error {
	if len(choices) == 0 {
		return FieldErrors(map[string]string{"choices": "choose an option"})
	}
	if !m.Multiple() && len(choices) > 1 {
		return FieldErrors(map[string]string{"choices": "this motion takes one choice"})
	}
	seen := map[string]bool{}
	for _, c := range choices {
		if !m.HasOption(c) {
			return FieldErrors(map[string]string{"choices": "no such option: " + c})
		}
		if seen[c] {
			return FieldErrors(map[string]string{"choices": "an option is chosen twice: " + c})
		}
		seen[c] = true
	}
	return nil
}

// IsAbstention reports whether an option means abstaining: it counts
// towards the quorum but not towards the threshold.
func IsAbstention(option string) bool { return strings.EqualFold(option, ConsentAbstain) }

// Ballot is what one member chose (one option, or several for a multiple
// choice motion).
//
// A ranked ballot lists its options in order of preference; a score
// ballot gives each chosen option Points (the dots), parallel to Choices.
// Reason is what the member said of the vote, shown with the tally.
//
// Class is the member's class when the motion opened; Weight what the
// ballot counts, set by the tally from the class (0 counts as 1).
type Ballot struct {
	MemberID int64
	Choices  []string
	Points   []int
	Reason   string
	Class    string
	Weight   int
}

// weight is what the ballot counts.
func (b Ballot) weight() int { return max(1, b.Weight) }

// OptionCount is the number of votes for one option. Points are a ranked
// (Borda) or score motion's points; Votes there count the ballots that
// rank the option first (ranked) or give it a dot (score).
type OptionCount struct {
	Name   string
	Votes  int
	Points int
}

// Result is a motion's tally and what it decides.
type Result struct {
	Outcome string
	// Eligible members, members who voted, and the votes needed for the
	// quorum.
	Eligible, Voters, QuorumNeeded int
	QuorumMet                      bool
	// Abstained voted only to abstain; Counted is the rest, the base of
	// the threshold.
	Abstained, Counted int
	Blocks             int
	Options            []OptionCount // in the motion's order
	// Carried lists the options that carried: Agree for a consent motion,
	// the winner of a choice, every option that reached the threshold of
	// a multiple choice.
	Carried []string
	// Rounds are an instant runoff's counts, round by round; Exhausted
	// the ballots that rank no option still in the count in the last one.
	Rounds    []Round
	Exhausted int
	// Dots is the number of dots given in a score vote.
	Dots int
	// Classes are each class's tally on a motion counted by class.
	Classes []ClassResult
}

// epsilon absorbs float error in shares, so that 2 of 3 meets a threshold
// given as 2.0/3 or 0.6666666666666666.
const epsilon = 1e-9

// Tally counts the ballots of a motion with eligible members and decides it.
//
// The rules, in order:
//  1. Quorum: at least ceil(quorum × eligible) members voted (abstentions
//     included); otherwise the outcome is no_quorum, whatever the votes.
//  2. Consent: any Block stops the motion (blocked).
//  3. Threshold: the share is taken of counted votes, abstentions left out.
//     Consent carries when Agree reaches the threshold of Agree+Disagree
//     and outnumbers Disagree. A choice carries when the leading option
//     reaches the threshold and leads alone. A tie never carries, so
//     exactly 50 % against a 0.5 threshold is not a majority; exactly two
//     thirds meets a two-thirds threshold. In a multiple choice each
//     option that some voters approve and whose approvals reach the
//     threshold of counted voters carries.
//
// On a weighted motion each ballot counts the weight of its class in the
// votes (and points, and runoff rounds) while the quorum stays a count of
// members; a motion counted by class is decided by tallyByClass.
func Tally(m *Motion, eligible int, ballots []Ballot) Result {
	if m.ClassCount == CountByClass {
		return tallyByClass(m, eligible, ballots)
	}
	if m.ClassCount == CountWeighted {
		weighted := make([]Ballot, len(ballots))
		for i, b := range ballots {
			b.Weight = m.weightOf(b.Class)
			weighted[i] = b
		}
		ballots = weighted
	}
	switch m.Kind {
	case MotionRanked, MotionScore, MotionPoll, MotionAdvice:
		return tallyDecision(m, eligible, ballots)
	}
	r := Result{Eligible: eligible}
	counts := make(map[string]int, len(m.Options))
	weight, abstainedWeight := 0, 0
	for _, b := range ballots {
		if len(b.Choices) == 0 {
			continue
		}
		w := b.weight()
		r.Voters++
		weight += w
		abstains := true
		for _, c := range b.Choices {
			counts[c] += w
			if !IsAbstention(c) {
				abstains = false
			}
		}
		if abstains {
			r.Abstained++
			abstainedWeight += w
		}
	}
	for _, o := range m.Options {
		r.Options = append(r.Options, OptionCount{Name: o, Votes: counts[o]})
	}
	// Counted is in votes: weighted on a weighted motion, members
	// otherwise.
	r.Counted = weight - abstainedWeight
	r.QuorumNeeded = int(math.Ceil(m.Quorum*float64(eligible) - epsilon))
	r.QuorumMet = r.Voters >= r.QuorumNeeded
	r.Blocks = counts[ConsentBlock]
	switch {
	case !r.QuorumMet:
		r.Outcome = OutcomeNoQuorum
		return r
	case m.Kind == MotionConsent && r.Blocks > 0:
		r.Outcome = OutcomeBlocked
		return r
	}
	reaches := func(votes, base int) bool {
		return base > 0 && votes > 0 && float64(votes)/float64(base) >= m.Threshold-epsilon
	}
	switch m.Kind {
	case MotionConsent:
		agree, disagree := counts[ConsentAgree], counts[ConsentDisagree]
		if reaches(agree, agree+disagree) && agree > disagree {
			r.Carried = []string{ConsentAgree}
		}
	case MotionChoice:
		lead, second := "", -1
		leadVotes := -1
		for _, oc := range r.Options {
			if IsAbstention(oc.Name) {
				continue
			}
			if oc.Votes > leadVotes {
				second, lead, leadVotes = leadVotes, oc.Name, oc.Votes
			} else if oc.Votes > second {
				second = oc.Votes
			}
		}
		if lead != "" && leadVotes > second && reaches(leadVotes, r.Counted) {
			r.Carried = []string{lead}
		}
	case MotionMultiple:
		for _, oc := range r.Options {
			if !IsAbstention(oc.Name) && reaches(oc.Votes, r.Counted) {
				r.Carried = append(r.Carried, oc.Name)
			}
		}
	}
	r.Outcome = OutcomeNotCarried
	if len(r.Carried) > 0 {
		r.Outcome = OutcomeCarried
	}
	return r
}

// OutcomeWords returns an outcome as people say it.
func OutcomeWords(outcome string) string {
	switch outcome {
	case OutcomeCarried:
		return "carried"
	case OutcomeNotCarried:
		return "not carried"
	case OutcomeBlocked:
		return "blocked"
	case OutcomeNoQuorum:
		return "no quorum"
	case OutcomeNone:
		return "advice gathered"
	}
	return outcome
}

// Percent formats a share as a percentage with at most one decimal.
func Percent(share float64) string {
	s := strconv.FormatFloat(math.Round(share*1000)/10, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " %"
}

// Describe states the result in words with its numbers, as published when
// the motion closes.
func (r Result) Describe(m *Motion) string {
	var b strings.Builder
	switch m.Kind {
	case MotionRanked, MotionScore, MotionPoll, MotionAdvice:
		b.WriteString(r.describeDecision(m))
	default:
		r.describePoll(m, &b)
	}
	r.describeClasses(m, &b)
	return b.String()
}

func (r Result) describePoll(m *Motion, b *strings.Builder) {
	turnout := fmt.Sprintf("%d of %d eligible members voted", r.Voters, r.Eligible)
	quorum := fmt.Sprintf("quorum %s: %d needed", Percent(m.Quorum), r.QuorumNeeded)
	switch r.Outcome {
	case OutcomeNoQuorum:
		fmt.Fprintf(b, "No quorum: %s; %s. The motion is not decided.", turnout, quorum)
		return
	case OutcomeBlocked:
		fmt.Fprintf(b, "Blocked: %d %s blocked the proposal. %s (%s, met).", r.Blocks, plural(r.Blocks, "member", "members"), turnout, quorum)
	case OutcomeCarried, OutcomeNotCarried:
		fmt.Fprintf(b, "%s: ", upperFirst(OutcomeWords(r.Outcome)))
		b.WriteString(r.thresholdWords(m))
		fmt.Fprintf(b, " %s (%s, met)", turnout, quorum)
		if r.Abstained > 0 {
			fmt.Fprintf(b, "; %d abstained", r.Abstained)
		}
		b.WriteString(".")
	}
	b.WriteString(" Votes: ")
	for i, oc := range r.Options {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "%s %d", oc.Name, oc.Votes)
	}
	b.WriteString(".")
}

func (r Result) thresholdWords(m *Motion) string {
	th := Percent(m.Threshold)
	count := func(name string) int {
		for _, oc := range r.Options {
			if oc.Name == name {
				return oc.Votes
			}
		}
		return 0
	}
	share := func(v, base int) string {
		if base == 0 {
			return "no counted votes"
		}
		return fmt.Sprintf("%d of %d counted votes, %s", v, base, Percent(float64(v)/float64(base)))
	}
	switch m.Kind {
	case MotionConsent:
		agree, disagree := count(ConsentAgree), count(ConsentDisagree)
		s := fmt.Sprintf("Agree has %s (threshold %s)", share(agree, agree+disagree), th)
		if agree == disagree && agree > 0 {
			s += "; a tie does not carry"
		}
		return s + "."
	case MotionChoice:
		if len(r.Carried) == 1 {
			return fmt.Sprintf("\u201c%s\u201d has %s (threshold %s).", r.Carried[0], share(count(r.Carried[0]), r.Counted), th)
		}
		sorted := append([]OptionCount(nil), r.Options...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Votes > sorted[j].Votes })
		if len(sorted) > 1 && sorted[0].Votes == sorted[1].Votes && sorted[0].Votes > 0 {
			return fmt.Sprintf("\u201c%s\u201d and \u201c%s\u201d are tied with %d votes each; a tie does not carry (threshold %s).", sorted[0].Name, sorted[1].Name, sorted[0].Votes, th)
		}
		if len(sorted) > 0 {
			return fmt.Sprintf("the leading option \u201c%s\u201d has %s, below the threshold of %s.", sorted[0].Name, share(sorted[0].Votes, r.Counted), th)
		}
	case MotionMultiple:
		if len(r.Carried) == 0 {
			return fmt.Sprintf("no option reached the threshold of %s of counted voters.", th)
		}
		parts := make([]string, 0, len(r.Carried))
		for _, name := range r.Carried {
			parts = append(parts, fmt.Sprintf("\u201c%s\u201d (%s)", name, share(count(name), r.Counted)))
		}
		return fmt.Sprintf("%s reached the threshold of %s.", strings.Join(parts, ", "), th)
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// RulesText states a motion's rules in words, for people reading the poll
// on a server that knows nothing of our extension terms.
func (m *Motion) RulesText() string {
	var kind string
	switch m.Kind {
	case MotionConsent:
		kind = "Consent: answer Agree, Abstain, Disagree or Block; any block stops the proposal."
	case MotionChoice:
		kind = "Choose one option."
	case MotionMultiple:
		kind = "Choose one or more options."
	default:
		return m.decisionRules()
	}
	return fmt.Sprintf("%s Members of the coop vote; votes from other accounts are not counted. Quorum: %s of eligible members must vote. Threshold: %s of counted votes (abstentions left out) carries; a tie does not. Voting closes %s.",
		kind, Percent(m.Quorum), Percent(m.Threshold), m.ClosesAt.UTC().Format("2 Jan 2006 15:04 UTC")) + m.classRules()
}

// Vote is one chosen option of one member on a motion. ActivityIRI is the
// id of the vote a peer sent (empty for votes cast through the API);
// ActorIRI the account that voted, which is sent the tallies.
type Vote struct {
	ID          int64
	MotionID    int64
	MemberID    int64
	Option      string
	ActivityIRI string
	ActorIRI    string
	CreatedAt   time.Time
}

// MotionReply is a reply to a motion that is not a vote: its discussion.
// Content is sanitised HTML. InReplyTo is what it answers: the motion or
// another reply, which threads the discussion. Member is the username of
// a local member whose reply the coop published, "" for a remote reply.
type MotionReply struct {
	ID        int64
	MotionID  int64
	ObjectIRI string
	ActorIRI  string
	Content   string
	URL       string
	Published time.Time
	Updated   *time.Time
	InReplyTo string
	MemberID  int64
	Member    string
}
