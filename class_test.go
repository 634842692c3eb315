package coopfed

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// classBallots builds ballots from "class:choice" entries, several options
// separated by "+" (a ranking in order).
func classBallots(entries ...string) []Ballot {
	var out []Ballot
	for i, e := range entries {
		class, choice, _ := strings.Cut(e, ":")
		out = append(out, Ballot{MemberID: int64(i + 1), Class: class, Choices: strings.Split(choice, "+")})
	}
	return out
}

func TestTallyWeighted(t *testing.T) {
	weights := []ClassWeight{{"workers", 2}, {"consumers", 1}}
	motion := func(kind string, q, th float64, opts ...string) *Motion {
		if kind == MotionConsent {
			opts = ConsentOptions
		}
		return &Motion{Kind: kind, Options: opts, Quorum: q, Threshold: th, ClassCount: CountWeighted, Weights: weights}
	}
	tests := []struct {
		name     string
		motion   *Motion
		eligible int
		ballots  []Ballot
		outcome  string
		carried  []string
		voters   int // members
		counted  int // weighted votes
		votes    map[string]int
	}{
		{"consent: two workers outweigh three consumers", motion(MotionConsent, 0, 0.5), 5,
			classBallots("workers:Agree", "workers:Agree", "consumers:Disagree", "consumers:Disagree", "consumers:Disagree"),
			OutcomeCarried, []string{"Agree"}, 5, 7, map[string]int{"Agree": 4, "Disagree": 3}},
		{"consent: a weighted tie does not carry", motion(MotionConsent, 0, 0.5), 3,
			classBallots("workers:Agree", "consumers:Disagree", "consumers:Disagree"),
			OutcomeNotCarried, nil, 3, 4, map[string]int{"Agree": 2, "Disagree": 2}},
		{"consent: quorum counts members, not weight", motion(MotionConsent, 0.5, 0.5), 6,
			classBallots("workers:Agree", "workers:Agree"),
			OutcomeNoQuorum, nil, 2, 4, map[string]int{"Agree": 4}},
		{"consent: one consumer's block stops weighted agreement", motion(MotionConsent, 0, 0.5), 3,
			classBallots("workers:Agree", "workers:Agree", "consumers:Block"),
			OutcomeBlocked, nil, 3, 5, map[string]int{"Agree": 4, "Block": 1}},
		{"consent: abstentions leave the weighted base", motion(MotionConsent, 0, 2.0/3), 4,
			classBallots("workers:Agree", "consumers:Disagree", "workers:Abstain", "consumers:Abstain"),
			OutcomeCarried, []string{"Agree"}, 4, 3, map[string]int{"Agree": 2, "Disagree": 1, "Abstain": 3}},
		{"consent: an unweighted class weighs 1", motion(MotionConsent, 0, 0.5), 3,
			classBallots("supporters:Agree", "supporters:Agree", "workers:Disagree"),
			OutcomeNotCarried, nil, 3, 4, map[string]int{"Agree": 2, "Disagree": 2}},
		{"choice: weight decides the lead", motion(MotionChoice, 0, 0.5, "Red", "Blue"), 3,
			classBallots("workers:Red", "consumers:Blue", "consumers:Blue"),
			OutcomeNotCarried, nil, 3, 4, map[string]int{"Red": 2, "Blue": 2}},
		{"choice: workers carry Red", motion(MotionChoice, 0, 0.5, "Red", "Blue"), 5,
			classBallots("workers:Red", "workers:Red", "consumers:Blue", "consumers:Blue", "consumers:Blue"),
			OutcomeCarried, []string{"Red"}, 5, 7, map[string]int{"Red": 4, "Blue": 3}},
		{"multiple: approvals weighted against the weighted voters", motion(MotionMultiple, 0, 0.5, "Bread", "Cake"), 3,
			classBallots("workers:Bread+Cake", "consumers:Cake", "consumers:Cake"),
			OutcomeCarried, []string{"Bread", "Cake"}, 3, 4, map[string]int{"Bread": 2, "Cake": 4}},
		{"ranked IRV: weighted first preferences", &Motion{Kind: MotionRanked, Method: MethodIRV, Options: []string{"A", "B", "C"}, Threshold: 0.5, ClassCount: CountWeighted, Weights: weights}, 4,
			classBallots("workers:A+B", "consumers:B+A", "consumers:C+B", "consumers:C+A"),
			OutcomeCarried, []string{"A"}, 4, 5, map[string]int{"A": 2, "B": 1, "C": 2}},
		{"ranked Borda: weighted points", &Motion{Kind: MotionRanked, Method: MethodBorda, Options: []string{"A", "B"}, Threshold: 0.5, ClassCount: CountWeighted, Weights: weights}, 3,
			classBallots("workers:A+B", "consumers:B+A", "consumers:B+A"),
			OutcomeNotCarried, nil, 3, 4, map[string]int{"A": 2, "B": 2}},
		{"poll: weighted slots", &Motion{Kind: MotionPoll, Options: []string{"2026-05-01T18:00:00Z", "2026-05-02T18:00:00Z"}, Threshold: 0.5, ClassCount: CountWeighted, Weights: weights}, 3,
			classBallots("workers:2026-05-02T18:00:00Z", "consumers:2026-05-01T18:00:00Z"),
			OutcomeCarried, []string{"2026-05-02T18:00:00Z"}, 2, 3, map[string]int{"2026-05-01T18:00:00Z": 1, "2026-05-02T18:00:00Z": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Tally(tc.motion, tc.eligible, tc.ballots)
			if r.Outcome != tc.outcome || !slices.Equal(r.Carried, tc.carried) {
				t.Errorf("outcome %s carried %v, want %s %v", r.Outcome, r.Carried, tc.outcome, tc.carried)
			}
			if r.Voters != tc.voters || r.Counted != tc.counted {
				t.Errorf("voters %d counted %d, want %d %d", r.Voters, r.Counted, tc.voters, tc.counted)
			}
			for name, want := range tc.votes {
				for _, oc := range r.Options {
					if oc.Name == name && oc.Votes != want {
						t.Errorf("%s has %d votes, want %d", name, oc.Votes, want)
					}
				}
			}
		})
	}
}

func TestTallyByClass(t *testing.T) {
	eligible := []ClassEligible{{"workers", 3}, {"consumers", 4}}
	motion := func(kind string, q, th float64, opts ...string) *Motion {
		if kind == MotionConsent {
			opts = ConsentOptions
		}
		return &Motion{Kind: kind, Options: opts, Quorum: q, Threshold: th, ClassCount: CountByClass, ClassEligible: eligible}
	}
	tests := []struct {
		name    string
		motion  *Motion
		ballots []Ballot
		outcome string
		carried []string
		classes []string // outcome of each class, in order
	}{
		{"consent: a majority in each class carries", motion(MotionConsent, 0, 0.5),
			classBallots("workers:Agree", "workers:Agree", "workers:Disagree", "consumers:Agree", "consumers:Agree", "consumers:Agree", "consumers:Disagree"),
			OutcomeCarried, []string{"Agree"}, []string{OutcomeCarried, OutcomeCarried}},
		{"consent: a large overall majority fails in one class", motion(MotionConsent, 0, 0.5),
			classBallots("workers:Disagree", "workers:Disagree", "workers:Agree", "consumers:Agree", "consumers:Agree", "consumers:Agree", "consumers:Agree"),
			OutcomeNotCarried, nil, []string{OutcomeNotCarried, OutcomeCarried}},
		{"consent: a tie within a class does not carry", motion(MotionConsent, 0, 0.5),
			classBallots("workers:Agree", "workers:Disagree", "consumers:Agree"),
			OutcomeNotCarried, nil, []string{OutcomeNotCarried, OutcomeCarried}},
		{"consent: a class without quorum leaves the motion without quorum", motion(MotionConsent, 0.5, 0.5),
			classBallots("workers:Agree", "workers:Agree", "consumers:Agree"),
			OutcomeNoQuorum, nil, []string{OutcomeCarried, OutcomeNoQuorum}},
		{"consent: quorum per class, met in each", motion(MotionConsent, 0.5, 0.5),
			classBallots("workers:Agree", "workers:Agree", "consumers:Agree", "consumers:Abstain"),
			OutcomeCarried, []string{"Agree"}, []string{OutcomeCarried, OutcomeCarried}},
		{"consent: a block in one class blocks", motion(MotionConsent, 0, 0.5),
			classBallots("workers:Agree", "consumers:Block", "consumers:Agree"),
			OutcomeBlocked, nil, []string{OutcomeCarried, OutcomeBlocked}},
		{"consent: a class that does not vote at all has no counted votes", motion(MotionConsent, 0, 0.5),
			classBallots("workers:Agree"),
			OutcomeNotCarried, nil, []string{OutcomeCarried, OutcomeNotCarried}},
		{"choice: the same winner in each class", motion(MotionChoice, 0, 0.5, "Red", "Blue"),
			classBallots("workers:Red", "workers:Red", "consumers:Red", "consumers:Blue", "consumers:Red"),
			OutcomeCarried, []string{"Red"}, []string{OutcomeCarried, OutcomeCarried}},
		{"choice: different winners do not carry", motion(MotionChoice, 0, 0.5, "Red", "Blue"),
			classBallots("workers:Red", "workers:Red", "consumers:Blue", "consumers:Blue", "consumers:Blue"),
			OutcomeNotCarried, nil, []string{OutcomeCarried, OutcomeCarried}},
		{"multiple: only options every class approves", motion(MotionMultiple, 0, 0.5, "Bread", "Cake", "Pie"),
			classBallots("workers:Bread+Cake", "workers:Bread", "consumers:Bread+Pie", "consumers:Cake+Bread"),
			OutcomeCarried, []string{"Bread", "Cake"}, []string{OutcomeCarried, OutcomeCarried}},
		{"multiple: no option in common", motion(MotionMultiple, 0, 0.75, "Bread", "Cake"),
			classBallots("workers:Bread", "workers:Bread", "consumers:Cake", "consumers:Cake"),
			OutcomeNotCarried, nil, []string{OutcomeCarried, OutcomeCarried}},
		{"ranked IRV: the same winner in each class", &Motion{Kind: MotionRanked, Method: MethodIRV, Options: []string{"A", "B", "C"}, Threshold: 0.5, ClassCount: CountByClass, ClassEligible: eligible},
			classBallots("workers:A+B", "workers:B+A", "workers:A", "consumers:A+C", "consumers:A", "consumers:B+A"),
			OutcomeCarried, []string{"A"}, []string{OutcomeCarried, OutcomeCarried}},
		{"score: different leaders do not carry", &Motion{Kind: MotionScore, Dots: 3, Options: []string{"A", "B"}, Threshold: 0.5, ClassCount: CountByClass, ClassEligible: eligible},
			[]Ballot{{MemberID: 1, Class: "workers", Choices: []string{"A"}, Points: []int{3}}, {MemberID: 2, Class: "consumers", Choices: []string{"B"}, Points: []int{3}}},
			OutcomeNotCarried, nil, []string{OutcomeCarried, OutcomeCarried}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Tally(tc.motion, 7, tc.ballots)
			if r.Outcome != tc.outcome || !slices.Equal(r.Carried, tc.carried) {
				t.Errorf("outcome %s carried %v, want %s %v", r.Outcome, r.Carried, tc.outcome, tc.carried)
			}
			var got []string
			for _, cr := range r.Classes {
				got = append(got, cr.Outcome)
			}
			if !slices.Equal(got, tc.classes) {
				t.Errorf("class outcomes %v, want %v", got, tc.classes)
			}
			if r.Voters != len(tc.ballots) {
				t.Errorf("voters %d, want %d", r.Voters, len(tc.ballots))
			}
		})
	}
}

func TestDescribeClasses(t *testing.T) {
	m := &Motion{Kind: MotionConsent, Options: ConsentOptions, Threshold: 0.5, ClassCount: CountByClass, ClassEligible: []ClassEligible{{"workers", 2}, {"consumers", 2}}}
	r := Tally(m, 4, classBallots("workers:Agree", "consumers:Disagree"))
	got := r.Describe(m)
	want := "Not carried: Agree has 1 of 2 counted votes, 50 % (threshold 50 %); a tie does not carry. 2 of 4 eligible members voted (quorum 0 %: 0 needed, met). Votes: Agree 1, Abstain 0, Disagree 1, Block 0. Counted by class, carrying only if it carries in every class: workers carried (1 of 2 voted, Agree 1, Abstain 0, Disagree 0, Block 0); consumers not carried (1 of 2 voted, Agree 0, Abstain 0, Disagree 1, Block 0)."
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	w := &Motion{Kind: MotionChoice, Options: []string{"Red", "Blue"}, Threshold: 0.5, ClassCount: CountWeighted, Weights: []ClassWeight{{"workers", 2}}}
	if got := Tally(w, 2, classBallots("workers:Red", "consumers:Blue")).Describe(w); !strings.HasSuffix(got, "Votes weighted by class: workers 2; other classes 1.") {
		t.Errorf("weighted: %s", got)
	}
}

func TestMotionValidateClasses(t *testing.T) {
	base := func() *Motion {
		return &Motion{Title: "T", Kind: MotionConsent, Options: ConsentOptions, Threshold: 0.5}
	}
	tests := []struct {
		name  string
		edit  func(m *Motion)
		field string
	}{
		{"one member one vote", func(m *Motion) {}, ""},
		{"weighted", func(m *Motion) { m.ClassCount, m.Weights = CountWeighted, []ClassWeight{{"workers", 2}} }, ""},
		{"separate with eligible classes", func(m *Motion) { m.ClassCount, m.Classes = CountByClass, []string{"workers", "consumers"} }, ""},
		{"unknown count", func(m *Motion) { m.ClassCount = "proportional" }, "class_count"},
		{"weighted without weights", func(m *Motion) { m.ClassCount = CountWeighted }, "weights"},
		{"weights on a separate count", func(m *Motion) { m.ClassCount, m.Weights = CountByClass, []ClassWeight{{"workers", 2}} }, "weights"},
		{"weight zero", func(m *Motion) { m.ClassCount, m.Weights = CountWeighted, []ClassWeight{{"workers", 0}} }, "weights"},
		{"weight too large", func(m *Motion) { m.ClassCount, m.Weights = CountWeighted, []ClassWeight{{"workers", 101}} }, "weights"},
		{"class weighted twice", func(m *Motion) {
			m.ClassCount, m.Weights = CountWeighted, []ClassWeight{{"workers", 2}, {"workers", 3}}
		}, "weights"},
		{"weighted class not eligible", func(m *Motion) {
			m.ClassCount, m.Weights, m.Classes = CountWeighted, []ClassWeight{{"workers", 2}}, []string{"consumers"}
		}, "weights"},
		{"class named twice", func(m *Motion) { m.Classes = []string{"workers", "workers"} }, "classes"},
		{"advice is not counted by class", func(m *Motion) {
			m.Kind, m.Options, m.ClassCount = MotionAdvice, AdviceOptions, CountByClass
		}, "class_count"},
	}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			m.OpensAt, m.ClosesAt = now, now.Add(24*time.Hour)
			tc.edit(m)
			err := m.Validate(now)
			e, _ := err.(*Error)
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (e == nil || e.Fields[tc.field] == ""):
				t.Fatalf("error %v, want a problem in %s", err, tc.field)
			}
		})
	}
	m := base()
	m.ClassCount, m.Classes = CountByClass, []string{"workers", "guests"}
	if err := m.CheckClasses([]*MemberClass{{Name: "workers"}}); err == nil || err.(*Error).Fields["classes"] == "" {
		t.Fatalf("unknown class: %v", err)
	}
}
