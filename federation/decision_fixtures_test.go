package federation

import (
	"encoding/json"
	"fmt"
	"testing"
)

// The vote extension terms as a peer sends them (FEDERATION.md, Votes): a
// ranking, scores in an edit of the vote, a reason; odd shapes decode as
// empty rather than making the activity undecodable.
func TestVoteExtensionFixtures(t *testing.T) {
	_, o, err := objectRef(decodeActivityFixture(t, "coopfed/vote-ranked.json").Object)
	if err != nil || o == nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.Ranking) != "[Oat Spelt]" || o.VoteReason != "oat keeps" || string(o.Name) != "Oat" || !isVote(o) {
		t.Errorf("ranked vote: ranking %v, reason %q, name %q", o.Ranking, o.VoteReason, o.Name)
	}
	act := decodeActivityFixture(t, "coopfed/vote-scores-update.json")
	_, o, err = objectRef(act.Object)
	if err != nil || o == nil {
		t.Fatal(err)
	}
	if act.Type.Main() != "Update" || len(o.Scores) != 2 || o.Scores[0].Name != "Oven" || o.Scores[0].Points != 7 || o.Scores[1].Points != 3 || o.Updated == "" {
		t.Errorf("score vote: %+v", o.Scores)
	}
	for _, odd := range []string{
		`{"type": "Note", "name": "A", "ranking": "A", "scores": {"A": 1}, "voteReason": 5}`,
		`{"type": "Note", "name": "A", "ranking": [1, 2], "scores": [["A", 1]]}`,
	} {
		var o object
		if err := json.Unmarshal([]byte(odd), &o); err != nil || len(o.Ranking) != 0 || len(o.Scores) != 0 || o.Name != "A" {
			t.Errorf("%s: %v, ranking %v, scores %v", odd, err, o.Ranking, o.Scores)
		}
	}
}
