package coopfed

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rankedRow is n ranked ballots with the same order, preferences
// separated by ">".
type rankedRow struct {
	order string
	n     int
}

// rankedBallots builds the ballots of the rows, one member each.
func rankedBallots(rows ...rankedRow) []Ballot {
	var out []Ballot
	for _, r := range rows {
		for range r.n {
			out = append(out, Ballot{MemberID: int64(len(out) + 1), Choices: strings.Split(r.order, ">")})
		}
	}
	return out
}

// roundSummary writes a round as "A4 B3 | cont 9 exh 1 | -D" or "+B".
func roundSummary(r Round) string {
	var parts []string
	for _, oc := range r.Counts {
		parts = append(parts, oc.Name+itoa(oc.Votes))
	}
	s := strings.Join(parts, " ") + " | cont " + itoa(r.Continuing) + " exh " + itoa(r.Exhausted) + " | "
	if r.Elected != "" {
		return s + "+" + r.Elected
	}
	if len(r.Eliminated) == 0 {
		return s + "tie"
	}
	return s + "-" + strings.Join(r.Eliminated, ",")
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestInstantRunoff(t *testing.T) {
	irv := func(q float64, opts ...string) *Motion {
		return &Motion{Kind: MotionRanked, Method: MethodIRV, Options: opts, Quorum: q, Threshold: 0.5}
	}
	tests := []struct {
		name     string
		motion   *Motion
		eligible int
		ballots  []Ballot
		outcome  string
		rounds   []string
		note     string // of the round that settled a tie
	}{
		{"elimination and an exhausted ballot", irv(0, "A", "B", "C", "D"), 10,
			rankedBallots(rankedRow{"A>B", 4}, rankedRow{"B>C", 3}, rankedRow{"C>B", 2}, rankedRow{"D", 1}), OutcomeCarried,
			[]string{"A4 B3 C2 D1 | cont 10 exh 0 | -D", "A4 B3 C2 | cont 9 exh 1 | -C", "A4 B5 | cont 9 exh 1 | +B"}, ""},
		{"majority in the first round", irv(0, "A", "B"), 3,
			rankedBallots(rankedRow{"A>B", 2}, rankedRow{"B", 1}), OutcomeCarried,
			[]string{"A2 B1 | cont 3 exh 0 | +A"}, ""},
		{"tie for fewest with no earlier round eliminates both", irv(0, "A", "B", "C"), 7,
			rankedBallots(rankedRow{"A", 3}, rankedRow{"B>A", 2}, rankedRow{"C>B", 2}), OutcomeCarried,
			[]string{"A3 B2 C2 | cont 7 exh 0 | -B,C", "A5 | cont 5 exh 2 | +A"}, "tie for fewest votes: all tied options are eliminated"},
		{"tie for fewest settled by the earlier round", irv(0, "A", "B", "C", "D"), 11,
			rankedBallots(rankedRow{"A", 5}, rankedRow{"B", 3}, rankedRow{"C>B", 2}, rankedRow{"D>C>B", 1}), OutcomeCarried,
			[]string{"A5 B3 C2 D1 | cont 11 exh 0 | -D", "A5 B3 C3 | cont 11 exh 0 | -C", "A5 B6 | cont 11 exh 0 | +B"}, "tie for fewest votes settled by round 1"},
		{"every option tied does not carry", irv(0, "A", "B"), 2,
			rankedBallots(rankedRow{"A", 1}, rankedRow{"B", 1}), OutcomeNotCarried,
			[]string{"A1 B1 | cont 2 exh 0 | tie"}, "every option left is tied; a tie does not carry"},
		{"no quorum still shows the rounds", irv(0.5, "A", "B"), 10,
			rankedBallots(rankedRow{"A", 2}), OutcomeNoQuorum,
			[]string{"A2 B0 | cont 2 exh 0 | +A"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Tally(tc.motion, tc.eligible, tc.ballots)
			if r.Outcome != tc.outcome {
				t.Errorf("outcome %s, want %s", r.Outcome, tc.outcome)
			}
			if len(tc.rounds) == 0 {
				return
			}
			var got []string
			note := ""
			for _, rd := range r.Rounds {
				got = append(got, roundSummary(rd))
				if rd.Note != "" {
					note = rd.Note
				}
			}
			if !slices.Equal(got, tc.rounds) {
				t.Errorf("rounds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.rounds, "\n"))
			}
			if note != tc.note {
				t.Errorf("note %q, want %q", note, tc.note)
			}
			if last := r.Rounds[len(r.Rounds)-1]; r.Exhausted != last.Exhausted {
				t.Errorf("exhausted %d, last round %d", r.Exhausted, last.Exhausted)
			}
		})
	}
}

// A three-way tie in the first round, with no earlier round to settle it,
// ends the count: eliminating every option would decide nothing.
func TestInstantRunoffEnds(t *testing.T) {
	m := &Motion{Kind: MotionRanked, Method: MethodIRV, Options: []string{"A", "B", "C"}, Threshold: 0.5}
	r := Tally(m, 3, rankedBallots(rankedRow{"C", 1}, rankedRow{"B", 1}, rankedRow{"A>B", 1}))
	if r.Outcome != OutcomeNotCarried || len(r.Rounds) != 1 || r.Rounds[0].Note != "every option left is tied; a tie does not carry" {
		t.Fatalf("got %s %+v", r.Outcome, r.Rounds)
	}
}

func TestBordaScorePollAdvice(t *testing.T) {
	borda := &Motion{Kind: MotionRanked, Method: MethodBorda, Options: []string{"A", "B", "C"}, Threshold: 0.5}
	score := &Motion{Kind: MotionScore, Dots: 10, Options: []string{"A", "B", "C"}, Threshold: 0.5}
	slots := []string{"2026-03-05T18:00:00Z", "2026-03-06T18:00:00Z", "2026-03-07T18:00:00Z"}
	poll := &Motion{Kind: MotionPoll, Options: slots, Threshold: 0.5}
	advice := &Motion{Kind: MotionAdvice, Options: AdviceOptions, Quorum: 0.5, Threshold: 0.5}
	scored := func(rows ...map[string]int) []Ballot {
		var out []Ballot
		for i, row := range rows {
			b := Ballot{MemberID: int64(i + 1)}
			for _, o := range []string{"A", "B", "C"} {
				if v, ok := row[o]; ok {
					b.Choices, b.Points = append(b.Choices, o), append(b.Points, v)
				}
			}
			out = append(out, b)
		}
		return out
	}
	tests := []struct {
		name    string
		motion  *Motion
		ballots []Ballot
		outcome string
		carried []string
		points  []int // per option; votes for poll and advice
	}{
		{"borda", borda, rankedBallots(rankedRow{"A>B>C", 2}, rankedRow{"B>C>A", 2}, rankedRow{"C", 1}), OutcomeCarried, []string{"B"}, []int{4, 6, 4}},
		{"borda tie", borda, rankedBallots(rankedRow{"A>B", 1}, rankedRow{"B>A", 1}), OutcomeNotCarried, nil, []int{3, 3, 0}},
		{"score", score, scored(map[string]int{"A": 7, "B": 3}, map[string]int{"B": 10}, map[string]int{"A": 5, "C": 5}), OutcomeCarried, []string{"B"}, []int{12, 13, 5}},
		{"score tie", score, scored(map[string]int{"A": 5}, map[string]int{"B": 5}), OutcomeNotCarried, nil, []int{5, 5, 0}},
		{"time poll takes the earliest of equal slots", poll, ballots(slots[1]+"+"+slots[0], slots[1], slots[0]), OutcomeCarried, []string{slots[0]}, []int{2, 2, 0}},
		{"time poll without votes", poll, nil, OutcomeNotCarried, nil, []int{0, 0, 0}},
		{"advice decides nothing", advice, ballots("Looks good", "Concerned", "Looks good"), OutcomeNone, nil, []int{2, 0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Tally(tc.motion, 4, tc.ballots)
			if r.Outcome != tc.outcome || !slices.Equal(r.Carried, tc.carried) {
				t.Errorf("outcome %s %v, want %s %v", r.Outcome, r.Carried, tc.outcome, tc.carried)
			}
			var got []int
			for _, oc := range r.Options {
				if tc.motion.Kind == MotionPoll || tc.motion.Kind == MotionAdvice {
					got = append(got, oc.Votes)
				} else {
					got = append(got, oc.Points)
				}
			}
			if !slices.Equal(got, tc.points) {
				t.Errorf("points %v, want %v", got, tc.points)
			}
		})
	}
}

func TestDescribeDecision(t *testing.T) {
	irv := &Motion{Kind: MotionRanked, Method: MethodIRV, Options: []string{"A", "B", "C", "D"}, Quorum: 0.5, Threshold: 0.5}
	score := &Motion{Kind: MotionScore, Dots: 10, Options: []string{"A", "B"}, Quorum: 0, Threshold: 0.5}
	advice := &Motion{Kind: MotionAdvice, Options: AdviceOptions, Threshold: 0.5}
	tests := []struct {
		m       *Motion
		ballots []Ballot
		want    string
	}{
		{irv, rankedBallots(rankedRow{"A>B", 4}, rankedRow{"B>C", 3}, rankedRow{"C>B", 2}, rankedRow{"D", 1}),
			"Carried: \u201cB\u201d won the instant runoff in round 3 with 5 of 9 continuing ballots, 55.6 % (threshold 50 %). 1 ballot exhausted. 10 of 12 eligible members voted (quorum 50 %: 6 needed, met). First preferences: A 4, B 3, C 2, D 1."},
		{score, []Ballot{{MemberID: 1, Choices: []string{"A", "B"}, Points: []int{3, 7}}},
			"Carried: \u201cB\u201d has the most dots. 1 of 12 eligible members voted and gave 10 dots (quorum 0 %: 0 needed, met). Dots: A 3, B 7."},
		{advice, ballots("Looks good", "Concerned"),
			"Advice gathered: 2 of 12 eligible members stated a position; nothing is decided. Positions: Looks good 1, Not sure 0, Concerned 1."},
	}
	for _, tc := range tests {
		if got := Tally(tc.m, 12, tc.ballots).Describe(tc.m); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// Hostile ballots are refused before they reach the store.
func TestValidateBallot(t *testing.T) {
	ranked := &Motion{Kind: MotionRanked, Method: MethodIRV, Options: []string{"A", "B", "C"}}
	score := &Motion{Kind: MotionScore, Dots: 10, Options: []string{"A", "B", "C"}}
	choice := &Motion{Kind: MotionChoice, Options: []string{"Yes", "No"}}
	tests := []struct {
		name  string
		m     *Motion
		b     Ballot
		field string
	}{
		{"ranking", ranked, Ballot{Choices: []string{"B", "A"}}, ""},
		{"partial ranking", ranked, Ballot{Choices: []string{"C"}}, ""},
		{"ranking with a duplicate", ranked, Ballot{Choices: []string{"A", "B", "A"}}, "choices"},
		{"ranking an unknown option", ranked, Ballot{Choices: []string{"A", "Z"}}, "choices"},
		{"empty ranking", ranked, Ballot{}, "choices"},
		{"dots on a ranking", ranked, Ballot{Choices: []string{"A"}, Points: []int{1}}, "scores"},
		{"dots within the allowance", score, Ballot{Choices: []string{"A", "B"}, Points: []int{4, 6}}, ""},
		{"dots beyond the allowance", score, Ballot{Choices: []string{"A", "B"}, Points: []int{6, 6}}, "scores"},
		{"one option beyond the allowance", score, Ballot{Choices: []string{"A"}, Points: []int{11}}, "scores"},
		{"negative dots", score, Ballot{Choices: []string{"A", "B"}, Points: []int{-5, 15}}, "scores"},
		{"no dots", score, Ballot{Choices: []string{"A"}, Points: []int{0}}, "scores"},
		{"dots on an unknown option", score, Ballot{Choices: []string{"Z"}, Points: []int{1}}, "scores"},
		{"an option scored twice", score, Ballot{Choices: []string{"A", "A"}, Points: []int{1, 1}}, "scores"},
		{"reason", choice, Ballot{Choices: []string{"Yes"}, Reason: "The oven is cheap."}, ""},
		{"reason too long", choice, Ballot{Choices: []string{"Yes"}, Reason: strings.Repeat("x", MaxReason+1)}, "reason"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.ValidateBallot(tc.b)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Fields[tc.field] == "" {
				t.Fatalf("want a problem with %s, got %v", tc.field, err)
			}
		})
	}
}

// BenchmarkTallyRanked counts 10 000 ranked ballots over 10 options, by
// instant runoff and by Borda count.
func BenchmarkTallyRanked(b *testing.B) {
	opts := []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"}
	var ballots []Ballot
	for i := range 10000 {
		// Rotate the preferences so that the runoff needs many rounds.
		n := 1 + i%len(opts)
		order := make([]string, 0, n)
		for j := range n {
			order = append(order, opts[(i*7+j*3)%len(opts)])
		}
		ballots = append(ballots, Ballot{MemberID: int64(i + 1), Choices: order})
	}
	for _, method := range []string{MethodIRV, MethodBorda} {
		m := &Motion{Kind: MotionRanked, Method: method, Options: opts, Threshold: 0.5}
		b.Run(method, func(b *testing.B) {
			for range b.N {
				Tally(m, len(ballots), ballots)
			}
		})
	}
}
