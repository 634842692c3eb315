package federation

import (
	"slices"
	"testing"

	"github.com/coopfed/coopfed"
)

// What a closed internal motion casts into its federation's motion.
func TestMirrorVote(t *testing.T) {
	consent := &coopfed.Motion{Kind: coopfed.MotionConsent, Options: coopfed.ConsentOptions}
	choice := &coopfed.Motion{Kind: coopfed.MotionChoice, Options: []string{"Yes", "No"}}
	withAbstain := &coopfed.Motion{Kind: coopfed.MotionChoice, Options: []string{"Yes", "No", "Abstain"}}
	advice := &coopfed.Motion{Kind: coopfed.MotionAdvice, Options: coopfed.AdviceOptions}
	votes := func(n ...int) []coopfed.OptionCount {
		out := make([]coopfed.OptionCount, len(n))
		for i, v := range n {
			out[i] = coopfed.OptionCount{Name: advice.Options[i], Votes: v}
		}
		return out
	}
	tests := []struct {
		name string
		m    *coopfed.Motion
		r    coopfed.Result
		want []string
	}{
		{"consent carried", consent, coopfed.Result{Outcome: coopfed.OutcomeCarried, Carried: []string{"Agree"}}, []string{"Agree"}},
		{"consent blocked", consent, coopfed.Result{Outcome: coopfed.OutcomeBlocked}, []string{"Block"}},
		{"consent not carried", consent, coopfed.Result{Outcome: coopfed.OutcomeNotCarried}, []string{"Disagree"}},
		{"consent without quorum abstains", consent, coopfed.Result{Outcome: coopfed.OutcomeNoQuorum}, []string{"Abstain"}},
		{"choice carried", choice, coopfed.Result{Outcome: coopfed.OutcomeCarried, Carried: []string{"No"}}, []string{"No"}},
		{"choice undecided casts nothing", choice, coopfed.Result{Outcome: coopfed.OutcomeNotCarried}, nil},
		{"choice undecided abstains when it can", withAbstain, coopfed.Result{Outcome: coopfed.OutcomeNoQuorum}, []string{"Abstain"}},
		{"multiple carried", &coopfed.Motion{Kind: coopfed.MotionMultiple, Options: []string{"A", "B", "C"}}, coopfed.Result{Outcome: coopfed.OutcomeCarried, Carried: []string{"A", "C"}}, []string{"A", "C"}},
		{"advice: the leading position", advice, coopfed.Result{Options: votes(1, 3, 0)}, []string{"Not sure"}},
		{"advice: a tie casts nothing", advice, coopfed.Result{Options: votes(2, 2, 0)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mirrorVote(tc.m, tc.r); !slices.Equal(got, tc.want) {
				t.Fatalf("cast %v, want %v", got, tc.want)
			}
		})
	}
}
