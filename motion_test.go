package coopfed

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// ballots builds one ballot per entry: each entry is what one member chose,
// several options separated by "+".
func ballots(choices ...string) []Ballot {
	var out []Ballot
	for i, c := range choices {
		out = append(out, Ballot{MemberID: int64(i + 1), Choices: strings.Split(c, "+")})
	}
	return out
}

func repeat(choice string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = choice
	}
	return out
}

func TestTally(t *testing.T) {
	consent := func(q, th float64) *Motion {
		return &Motion{Kind: MotionConsent, Options: ConsentOptions, Quorum: q, Threshold: th}
	}
	choice := func(q, th float64, opts ...string) *Motion {
		return &Motion{Kind: MotionChoice, Options: opts, Quorum: q, Threshold: th}
	}
	multiple := func(q, th float64, opts ...string) *Motion {
		return &Motion{Kind: MotionMultiple, Options: opts, Quorum: q, Threshold: th}
	}
	tests := []struct {
		name     string
		motion   *Motion
		eligible int
		ballots  []Ballot
		outcome  string
		carried  []string
		voters   int
		counted  int
		needed   int
	}{
		{"quorum met exactly", consent(0.5, 0.5), 10, ballots(slices.Concat(repeat("Agree", 4), []string{"Disagree"})...), OutcomeCarried, []string{"Agree"}, 5, 5, 5},
		{"quorum not met by one", consent(0.5, 0.5), 10, ballots(repeat("Agree", 4)...), OutcomeNoQuorum, nil, 4, 4, 5},
		{"quorum rounds up", consent(0.5, 0.5), 5, ballots("Agree", "Agree"), OutcomeNoQuorum, nil, 2, 2, 3},
		{"no quorum wins over a block", consent(0.5, 0.5), 10, ballots("Block"), OutcomeNoQuorum, nil, 1, 1, 5},
		{"zero quorum", consent(0, 0.5), 10, ballots("Agree"), OutcomeCarried, []string{"Agree"}, 1, 1, 0},
		{"exactly 50 % is a tie and does not carry", consent(0, 0.5), 4, ballots("Agree", "Agree", "Disagree", "Disagree"), OutcomeNotCarried, nil, 4, 4, 0},
		{"just over 50 % carries", consent(0, 0.5), 5, ballots("Agree", "Agree", "Agree", "Disagree", "Disagree"), OutcomeCarried, []string{"Agree"}, 5, 5, 0},
		{"exactly two thirds meets two thirds", consent(0, 2.0/3), 6, ballots("Agree", "Agree", "Agree", "Agree", "Disagree", "Disagree"), OutcomeCarried, []string{"Agree"}, 6, 6, 0},
		{"two thirds written as 0.6666666666666666", consent(0, 0.6666666666666666), 3, ballots("Agree", "Agree", "Disagree"), OutcomeCarried, []string{"Agree"}, 3, 3, 0},
		{"just under two thirds", consent(0, 2.0/3), 5, ballots("Agree", "Agree", "Agree", "Disagree", "Disagree"), OutcomeNotCarried, nil, 5, 5, 0},
		{"one block stops a large majority", consent(0.5, 0.5), 10, ballots(slices.Concat(repeat("Agree", 8), []string{"Block"})...), OutcomeBlocked, nil, 9, 9, 5},
		{"abstentions count for quorum", consent(0.5, 0.5), 10, ballots("Agree", "Abstain", "Abstain", "Abstain", "Abstain"), OutcomeCarried, []string{"Agree"}, 5, 1, 5},
		{"abstentions not in the threshold base", consent(0, 2.0/3), 6, ballots("Agree", "Agree", "Disagree", "Abstain", "Abstain", "Abstain"), OutcomeCarried, []string{"Agree"}, 6, 3, 0},
		{"only abstentions do not carry", consent(0.5, 0.5), 4, ballots("Abstain", "Abstain", "Abstain"), OutcomeNotCarried, nil, 3, 0, 2},
		{"choice: clear winner", choice(0.5, 0.5, "Yes", "No"), 4, ballots("Yes", "Yes", "No"), OutcomeCarried, []string{"Yes"}, 3, 3, 2},
		{"choice: tie", choice(0, 0.5, "Yes", "No"), 4, ballots("Yes", "Yes", "No", "No"), OutcomeNotCarried, nil, 4, 4, 0},
		{"choice: plurality below the threshold", choice(0, 0.6, "A", "B", "C"), 5, ballots("A", "A", "B", "C"), OutcomeNotCarried, nil, 4, 4, 0},
		{"choice: exactly 50 % alone in the lead", choice(0, 0.5, "A", "B", "C"), 4, ballots("A", "A", "B", "C"), OutcomeCarried, []string{"A"}, 4, 4, 0},
		{"choice: abstain option left out of the base", choice(0, 0.5, "Yes", "No", "Abstain"), 5, ballots("Yes", "Yes", "No", "Abstain", "Abstain"), OutcomeCarried, []string{"Yes"}, 5, 3, 0},
		{"multiple: counts per option", multiple(0.5, 0.5, "Bread", "Cake", "Pie"), 4, ballots("Bread+Cake", "Bread", "Cake+Pie", "Bread+Pie"), OutcomeCarried, []string{"Bread", "Cake", "Pie"}, 4, 4, 2},
		{"multiple: threshold per option", multiple(0, 0.75, "Bread", "Cake", "Pie"), 4, ballots("Bread+Cake", "Bread", "Cake+Pie", "Bread+Pie"), OutcomeCarried, []string{"Bread"}, 4, 4, 0},
		{"multiple: none reaches", multiple(0, 0.9, "Bread", "Cake"), 4, ballots("Bread", "Cake", "Bread+Cake"), OutcomeNotCarried, nil, 3, 3, 0},
		{"multiple: no votes", multiple(0, 0.5, "Bread", "Cake"), 4, nil, OutcomeNotCarried, nil, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Tally(tc.motion, tc.eligible, tc.ballots)
			if r.Outcome != tc.outcome || !slices.Equal(r.Carried, tc.carried) {
				t.Errorf("outcome %s carried %v, want %s %v", r.Outcome, r.Carried, tc.outcome, tc.carried)
			}
			if r.Voters != tc.voters || r.Counted != tc.counted || r.QuorumNeeded != tc.needed {
				t.Errorf("voters %d counted %d needed %d, want %d %d %d", r.Voters, r.Counted, r.QuorumNeeded, tc.voters, tc.counted, tc.needed)
			}
			if d := r.Describe(tc.motion); !strings.HasPrefix(strings.ToLower(d), strings.ReplaceAll(OutcomeWords(r.Outcome), "_", " ")) {
				t.Errorf("description %q does not start with the outcome %q", d, OutcomeWords(r.Outcome))
			}
		})
	}
}

func TestTallyMultipleCounts(t *testing.T) {
	m := &Motion{Kind: MotionMultiple, Options: []string{"Bread", "Cake", "Pie"}, Quorum: 0, Threshold: 0.5}
	r := Tally(m, 5, ballots("Bread+Cake", "Bread", "Cake+Pie", "Bread+Pie"))
	want := []OptionCount{{Name: "Bread", Votes: 3}, {Name: "Cake", Votes: 2}, {Name: "Pie", Votes: 2}}
	if !slices.Equal(r.Options, want) {
		t.Fatalf("counts %v, want %v", r.Options, want)
	}
}

func TestDescribe(t *testing.T) {
	m := &Motion{Kind: MotionConsent, Options: ConsentOptions, Quorum: 0.5, Threshold: 0.5}
	tests := []struct {
		ballots []Ballot
		want    string
	}{
		{ballots("Agree", "Agree", "Agree", "Disagree", "Abstain"), "Carried: Agree has 3 of 4 counted votes, 75 % (threshold 50 %). 5 of 8 eligible members voted (quorum 50 %: 4 needed, met); 1 abstained. Votes: Agree 3, Abstain 1, Disagree 1, Block 0."},
		{ballots("Agree", "Agree", "Agree", "Block"), "Blocked: 1 member blocked the proposal. 4 of 8 eligible members voted (quorum 50 %: 4 needed, met). Votes: Agree 3, Abstain 0, Disagree 0, Block 1."},
		{ballots("Agree"), "No quorum: 1 of 8 eligible members voted; quorum 50 %: 4 needed. The motion is not decided."},
		{ballots("Agree", "Agree", "Disagree", "Disagree"), "Not carried: Agree has 2 of 4 counted votes, 50 % (threshold 50 %); a tie does not carry. 4 of 8 eligible members voted (quorum 50 %: 4 needed, met). Votes: Agree 2, Abstain 0, Disagree 2, Block 0."},
	}
	for _, tc := range tests {
		if got := Tally(m, 8, tc.ballots).Describe(m); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestMotionValidate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	valid := func() *Motion {
		return &Motion{Title: "New oven", Kind: MotionChoice, Options: []string{"Yes", "No"}, OpensAt: now, ClosesAt: now.Add(24 * time.Hour), Quorum: 0.5, Threshold: 0.5}
	}
	tests := []struct {
		name  string
		edit  func(m *Motion)
		field string
	}{
		{"valid", func(m *Motion) {}, ""},
		{"consent fills its options", func(m *Motion) { m.Kind, m.Options = MotionConsent, nil }, ""},
		{"consent with other options", func(m *Motion) { m.Kind = MotionConsent }, "options"},
		{"no title", func(m *Motion) { m.Title = " " }, "title"},
		{"unknown kind", func(m *Motion) { m.Kind = "approval" }, "kind"},
		{"ranked takes a method", func(m *Motion) { m.Kind, m.Method = MotionRanked, "condorcet" }, "method"},
		{"ranked fills instant runoff", func(m *Motion) { m.Kind = MotionRanked }, ""},
		{"score needs dots", func(m *Motion) { m.Kind = MotionScore }, "dots"},
		{"dots only on a score vote", func(m *Motion) { m.Dots = 5 }, "dots"},
		{"score with dots", func(m *Motion) { m.Kind, m.Dots = MotionScore, 10 }, ""},
		{"time poll slots are times", func(m *Motion) { m.Kind = MotionPoll }, "options"},
		{"time poll", func(m *Motion) {
			m.Kind, m.Options = MotionPoll, []string{"2026-03-05T18:00:00Z", "2026-03-06T18:00:00+01:00"}
		}, ""},
		{"advice fills its positions", func(m *Motion) { m.Kind, m.Options = MotionAdvice, nil }, ""},
		{"one option", func(m *Motion) { m.Options = []string{"Yes"} }, "options"},
		{"options differing by case", func(m *Motion) { m.Options = []string{"Yes", "yes"} }, "options"},
		{"empty option", func(m *Motion) { m.Options = []string{"Yes", ""} }, "options"},
		{"quorum above 1", func(m *Motion) { m.Quorum = 1.5 }, "quorum"},
		{"zero threshold", func(m *Motion) { m.Threshold = 0 }, "threshold"},
		{"deadline passed", func(m *Motion) { m.ClosesAt = now.Add(-time.Minute) }, "closes_at"},
		{"deadline before opening", func(m *Motion) { m.OpensAt = now.Add(48 * time.Hour) }, "closes_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			tc.edit(m)
			m.Normalize()
			err := m.Validate(now)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
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

func TestValidateChoices(t *testing.T) {
	single := &Motion{Kind: MotionChoice, Options: []string{"Yes", "No"}}
	multi := &Motion{Kind: MotionMultiple, Options: []string{"A", "B"}}
	tests := []struct {
		m       *Motion
		choices []string
		ok      bool
	}{
		{single, []string{"Yes"}, true},
		{single, []string{"Yes", "No"}, false},
		{single, []string{"yes"}, false},
		{single, nil, false},
		{multi, []string{"A", "B"}, true},
		{multi, []string{"A", "A"}, false},
	}
	for _, tc := range tests {
		if err := tc.m.ValidateChoices(tc.choices); (err == nil) != tc.ok {
			t.Errorf("%s %v: err %v", tc.m.Kind, tc.choices, err)
		}
	}
}

func TestMemberValidate(t *testing.T) {
	tests := []struct {
		m     Member
		field string
	}{
		{Member{Username: "ana", Role: RoleAdmin, Actors: []string{"https://social.example/users/ana"}}, ""},
		{Member{Username: "Ana", Role: RoleMember}, "username"},
		{Member{Username: "ana", Role: "owner"}, "role"},
		{Member{Username: "ana", Role: RoleMember, Actors: []string{"ana@social.example"}}, "actors"},
		{Member{Username: "ana", Role: RoleMember, Actors: []string{"https://social.example/users/ana#me"}}, "actors"},
	}
	for _, tc := range tests {
		err := tc.m.Validate()
		if tc.field == "" && err != nil || tc.field != "" && (err == nil || err.(*Error).Fields[tc.field] == "") {
			t.Errorf("%+v: %v, want problem with %q", tc.m, err, tc.field)
		}
	}
}
