package coopfed

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Round is one round of an instant runoff count.
type Round struct {
	Number int
	// Counts are the ballots whose highest-ranked option still in the
	// count is each option, in the motion's order; eliminated options are
	// left out.
	Counts []OptionCount
	// Continuing ballots still rank an option in the count; Exhausted
	// ballots rank none of them any more.
	Continuing, Exhausted int
	// Elected is the option that reached the threshold in this round;
	// Eliminated the options dropped after it.
	Elected    string
	Eliminated []string
	// Note says how a tie for fewest votes was settled.
	Note string
}

// ValidateBallot checks one member's ballot against the motion's kind:
// the options exist and appear once, a ranked ballot ranks at least one,
// a score ballot gives each option 0 to Dots dots and no more than Dots
// in all, and the reason is short enough.
func (m *Motion) ValidateBallot(b Ballot) error {
	if utf8.RuneCountInString(b.Reason) > MaxReason {
		return FieldErrors(map[string]string{"reason": fmt.Sprintf("at most %d characters", MaxReason)})
	}
	if m.Kind != MotionScore {
		if len(b.Points) > 0 {
			return FieldErrors(map[string]string{"scores": "only a score vote takes dots"})
		}
		if m.Kind == MotionRanked && len(b.Choices) == 0 {
			return FieldErrors(map[string]string{"choices": "rank at least one option"})
		}
		return m.ValidateChoices(b.Choices)
	}
	if len(b.Choices) == 0 || len(b.Points) != len(b.Choices) {
		return FieldErrors(map[string]string{"scores": "give dots to at least one option"})
	}
	seen := map[string]bool{}
	total := 0
	for i, c := range b.Choices {
		if !m.HasOption(c) {
			return FieldErrors(map[string]string{"scores": "no such option: " + c})
		}
		if seen[c] {
			return FieldErrors(map[string]string{"scores": "an option is scored twice: " + c})
		}
		seen[c] = true
		// Why: a negative score would take dots from an option and let a
		// member spend more than the allowance on another.
		if b.Points[i] < 0 || b.Points[i] > m.Dots {
			return FieldErrors(map[string]string{"scores": fmt.Sprintf("each option takes 0 to %d dots", m.Dots)})
		}
		total += b.Points[i]
	}
	if total == 0 {
		return FieldErrors(map[string]string{"scores": "give dots to at least one option"})
	}
	if total > m.Dots {
		return FieldErrors(map[string]string{"scores": fmt.Sprintf("%d dots given; each member has %d", total, m.Dots)})
	}
	return nil
}

// tallyDecision counts ranked, score, time poll and advice motions.
//
// The rules:
//   - Quorum is as for every motion: ceil(quorum × eligible) members must
//     vote, or the outcome is no_quorum (the counts are still shown).
//   - Instant runoff: each round counts every ballot for its highest
//     ranked option still in the count. An option carries when it leads
//     alone and holds at least the threshold of the continuing ballots.
//     Otherwise the option with fewest votes is eliminated; a tie for
//     fewest is settled by the latest earlier round in which the tied
//     options differed, and if none did all of them are eliminated,
//     unless that would leave no option, when the count ends in a tie that
//     does not carry.
//   - Borda: with n options a ballot's first preference earns n-1 points,
//     the next n-2 and so on, unranked options 0. The option with most
//     points carries if it leads alone.
//   - Score: the option with most dots carries if it leads alone.
//   - Time poll: the slot most voters can attend carries; among slots
//     equally suited the earliest, since a meeting must be held at one.
//   - Advice: nothing carries; the outcome is none.
func tallyDecision(m *Motion, eligible int, ballots []Ballot) Result {
	r := Result{Eligible: eligible}
	index := make(map[string]int, len(m.Options))
	for i, o := range m.Options {
		index[o] = i
		r.Options = append(r.Options, OptionCount{Name: o})
	}
	var counting []Ballot
	for _, b := range ballots {
		if len(b.Choices) == 0 {
			continue
		}
		r.Voters++
		counting = append(counting, b)
		w := b.weight()
		r.Counted += w
		for i, c := range b.Choices {
			j, ok := index[c]
			if !ok {
				continue
			}
			switch m.Kind {
			case MotionRanked:
				if i == 0 {
					r.Options[j].Votes += w
				}
				r.Options[j].Points += w * (len(m.Options) - 1 - i)
			case MotionScore:
				if i < len(b.Points) && b.Points[i] > 0 {
					r.Options[j].Votes += w
					r.Options[j].Points += w * b.Points[i]
					r.Dots += b.Points[i]
				}
			default:
				r.Options[j].Votes += w
			}
		}
	}
	r.QuorumNeeded = int(math.Ceil(m.Quorum*float64(eligible) - epsilon))
	r.QuorumMet = r.Voters >= r.QuorumNeeded
	var winner string
	switch {
	case m.Kind == MotionRanked && m.Method == MethodIRV:
		r.Rounds, winner = instantRunoff(m, counting)
		if n := len(r.Rounds); n > 0 {
			r.Exhausted = r.Rounds[n-1].Exhausted
		}
	case m.Kind == MotionRanked, m.Kind == MotionScore:
		value := func(oc OptionCount) int { return oc.Points }
		winner = soleLeader(r.Options, value)
	case m.Kind == MotionPoll:
		winner = earliestLeader(r.Options)
	}
	switch {
	case m.Kind == MotionAdvice:
		r.Outcome = OutcomeNone
		return r
	case !r.QuorumMet:
		r.Outcome = OutcomeNoQuorum
		return r
	}
	r.Outcome = OutcomeNotCarried
	if winner != "" {
		r.Outcome, r.Carried = OutcomeCarried, []string{winner}
	}
	return r
}

// soleLeader returns the option with the highest value, if it is above
// zero and no other option has as much.
func soleLeader(opts []OptionCount, value func(OptionCount) int) string {
	lead, best, tied := "", 0, false
	for _, oc := range opts {
		switch v := value(oc); {
		case v > best:
			lead, best, tied = oc.Name, v, false
		case v == best && v > 0:
			tied = true
		}
	}
	if tied {
		return ""
	}
	return lead
}

// earliestLeader returns the earliest of the time poll's slots with most
// votes.
func earliestLeader(opts []OptionCount) string {
	lead, best := "", 0
	var leadAt time.Time
	for _, oc := range opts {
		at, _ := time.Parse(time.RFC3339, oc.Name)
		if oc.Votes > best || oc.Votes == best && oc.Votes > 0 && at.Before(leadAt) {
			lead, best, leadAt = oc.Name, oc.Votes, at
		}
	}
	return lead
}

// instantRunoff counts ranked ballots round by round (see tallyDecision)
// and returns the rounds and the winner, "" when none.
func instantRunoff(m *Motion, ballots []Ballot) ([]Round, string) {
	in := make(map[string]bool, len(m.Options))
	for _, o := range m.Options {
		in[o] = true
	}
	var rounds []Round
	for n := 1; len(in) > 0; n++ {
		counts := map[string]int{}
		round := Round{Number: n}
		for _, b := range ballots {
			counted := false
			w := b.weight()
			for _, c := range b.Choices {
				if in[c] {
					counts[c] += w
					counted = true
					break
				}
			}
			if counted {
				round.Continuing += w
			} else {
				round.Exhausted += w
			}
		}
		for _, o := range m.Options {
			if in[o] {
				round.Counts = append(round.Counts, OptionCount{Name: o, Votes: counts[o]})
			}
		}
		lead := soleLeader(round.Counts, func(oc OptionCount) int { return oc.Votes })
		if lead != "" && float64(counts[lead])/float64(round.Continuing) >= m.Threshold-epsilon {
			round.Elected = lead
			rounds = append(rounds, round)
			return rounds, lead
		}
		if round.Continuing == 0 {
			rounds = append(rounds, round)
			return rounds, ""
		}
		fewest := math.MaxInt
		for _, oc := range round.Counts {
			fewest = min(fewest, oc.Votes)
		}
		var tied []string
		for _, oc := range round.Counts {
			if oc.Votes == fewest {
				tied = append(tied, oc.Name)
			}
		}
		if len(tied) > 1 {
			tied, round.Note = breakTie(tied, rounds)
		}
		if len(tied) == len(in) {
			round.Note = "every option left is tied; a tie does not carry"
			rounds = append(rounds, round)
			return rounds, ""
		}
		round.Eliminated = tied
		for _, o := range tied {
			delete(in, o)
		}
		rounds = append(rounds, round)
	}
	return rounds, ""
}

// breakTie narrows the options tied for fewest votes by the latest earlier
// round in which they had different counts, keeping those with fewest
// there. It says how the tie was settled.
func breakTie(tied []string, earlier []Round) ([]string, string) {
	for i := len(earlier) - 1; i >= 0; i-- {
		votes := map[string]int{}
		for _, oc := range earlier[i].Counts {
			votes[oc.Name] = oc.Votes
		}
		fewest := math.MaxInt
		for _, o := range tied {
			fewest = min(fewest, votes[o])
		}
		var keep []string
		for _, o := range tied {
			if votes[o] == fewest {
				keep = append(keep, o)
			}
		}
		if len(keep) < len(tied) {
			return keep, fmt.Sprintf("tie for fewest votes settled by round %d", earlier[i].Number)
		}
	}
	return tied, "tie for fewest votes: all tied options are eliminated"
}

// describeDecision states a ranked, score, time poll or advice result in
// words with its numbers.
func (r Result) describeDecision(m *Motion) string {
	var b strings.Builder
	turnout := fmt.Sprintf("%d of %d eligible members voted", r.Voters, r.Eligible)
	quorum := fmt.Sprintf("quorum %s: %d needed", Percent(m.Quorum), r.QuorumNeeded)
	list := func(label string, value func(OptionCount) int) {
		fmt.Fprintf(&b, " %s: ", label)
		for i, oc := range r.Options {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", optionWords(m, oc.Name), value(oc))
		}
		b.WriteString(".")
	}
	votes := func(oc OptionCount) int { return oc.Votes }
	points := func(oc OptionCount) int { return oc.Points }
	if m.Kind == MotionAdvice {
		fmt.Fprintf(&b, "Advice gathered: %d of %d eligible members stated a position; nothing is decided.", r.Voters, r.Eligible)
		list("Positions", votes)
		return b.String()
	}
	if r.Outcome == OutcomeNoQuorum {
		fmt.Fprintf(&b, "No quorum: %s; %s. The motion is not decided.", turnout, quorum)
		return b.String()
	}
	fmt.Fprintf(&b, "%s: ", upperFirst(OutcomeWords(r.Outcome)))
	winner := ""
	if len(r.Carried) == 1 {
		winner = optionWords(m, r.Carried[0])
	}
	switch {
	case m.Kind == MotionRanked && m.Method == MethodIRV:
		last := Round{}
		if n := len(r.Rounds); n > 0 {
			last = r.Rounds[n-1]
		}
		if winner != "" {
			v := 0
			for _, oc := range last.Counts {
				if oc.Name == r.Carried[0] {
					v = oc.Votes
				}
			}
			fmt.Fprintf(&b, "\u201c%s\u201d won the instant runoff in round %d with %d of %d continuing ballots, %s (threshold %s).",
				winner, last.Number, v, last.Continuing, Percent(float64(v)/float64(max(1, last.Continuing))), Percent(m.Threshold))
		} else {
			fmt.Fprintf(&b, "no option reached the threshold of %s of continuing ballots in %d %s.", Percent(m.Threshold), len(r.Rounds), plural(len(r.Rounds), "round", "rounds"))
		}
		if r.Exhausted > 0 {
			fmt.Fprintf(&b, " %d %s exhausted.", r.Exhausted, plural(r.Exhausted, "ballot", "ballots"))
		}
		fmt.Fprintf(&b, " %s (%s, met).", turnout, quorum)
		list("First preferences", votes)
	case m.Kind == MotionRanked:
		if winner != "" {
			fmt.Fprintf(&b, "\u201c%s\u201d has the most Borda points.", winner)
		} else {
			b.WriteString("no option leads alone on Borda points; a tie does not carry.")
		}
		fmt.Fprintf(&b, " %s (%s, met).", turnout, quorum)
		list("Borda points", points)
	case m.Kind == MotionScore:
		if winner != "" {
			fmt.Fprintf(&b, "\u201c%s\u201d has the most dots.", winner)
		} else {
			b.WriteString("no option leads alone on dots; a tie does not carry.")
		}
		fmt.Fprintf(&b, " %s and gave %d dots (%s, met).", turnout, r.Dots, quorum)
		list("Dots", points)
	case m.Kind == MotionPoll:
		if winner != "" {
			fmt.Fprintf(&b, "the slot %s suits most voters.", winner)
		} else {
			b.WriteString("no slot was chosen.")
		}
		fmt.Fprintf(&b, " %s (%s, met).", turnout, quorum)
		list("Votes", votes)
	}
	return b.String()
}

// optionWords shows an option as people read it: a time poll's slot as a
// date, any other option as written.
func optionWords(m *Motion, name string) string {
	if m.Kind == MotionPoll {
		if t, err := time.Parse(time.RFC3339, name); err == nil {
			return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
		}
	}
	return name
}

// OptionWords shows one of the motion's options as people read it.
func (m *Motion) OptionWords(name string) string { return optionWords(m, name) }

// decisionRules states the rules of a ranked, score, time poll or advice
// motion in words.
func (m *Motion) decisionRules() string {
	var kind string
	switch {
	case m.Kind == MotionRanked && m.Method == MethodBorda:
		kind = fmt.Sprintf("Ranked choice, Borda count: rank the options; with %d options a first preference earns %d points, the next one fewer, unranked options none. The option with most points carries; a tie does not.", len(m.Options), len(m.Options)-1)
	case m.Kind == MotionRanked:
		kind = fmt.Sprintf("Ranked choice, instant runoff: rank the options; the option with fewest first preferences is eliminated round by round until one holds %s of the ballots still counting.", Percent(m.Threshold))
	case m.Kind == MotionScore:
		kind = fmt.Sprintf("Dot vote: spread up to %d dots over the options; the option with most dots carries; a tie does not.", m.Dots)
	case m.Kind == MotionPoll:
		kind = "Time poll: choose every slot you can attend; the slot most can attend is chosen, the earliest if several are equal."
	case m.Kind == MotionAdvice:
		return fmt.Sprintf("Advice: state your position (%s) and why. Nothing is decided by the count. Members of the coop take part. Closes %s.",
			strings.Join(m.Options, ", "), m.ClosesAt.UTC().Format("2 Jan 2006 15:04 UTC"))
	}
	where := ""
	if !m.Mapped() {
		where = " Members vote on their coop dashboard or through the coop's API: a poll vote from elsewhere cannot carry a ranking or dots."
	}
	return fmt.Sprintf("%s%s Members of the coop vote; a member may change the vote until the deadline, the latest counts. Quorum: %s of eligible members must vote. Voting closes %s.",
		kind, where, Percent(m.Quorum), m.ClosesAt.UTC().Format("2 Jan 2006 15:04 UTC")) + m.classRules()
}

// SortedByPoints returns the options from most to fewest points, for
// charts of ranked and score motions.
func (r Result) SortedByPoints() []OptionCount {
	out := slices.Clone(r.Options)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Points > out[j].Points })
	return out
}
