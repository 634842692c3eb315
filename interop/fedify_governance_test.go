package interop

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// parsedObject is what the peer records of the object of a Create or
// Update, as Fedify's vocabulary parsed it (see describeObject in
// fedify/peer.mjs).
type parsedObject struct {
	Type         string
	ID           string
	Actor        string
	Verified     bool
	Reason       json.RawMessage
	ObjectType   string
	ObjectID     string
	Content      string
	Name         string
	AttributedTo string
	// Listing holds the FEP-0837 properties of the object as delivered;
	// FedifyListing the same read from Fedify's JSON-LD of the parsed
	// object (nil when Fedify dropped them).
	Listing, FedifyListing *struct {
		Purpose          string
		ResourceQuantity *struct{ HasUnit, HasNumericalValue string }
	}
	Question *struct {
		OneOf, AnyOf []struct {
			Type  string
			Name  string
			Votes *int
		}
		EndTime string
		Voters  *int
		Closed  *string
	}
	ObjectJSON json.RawMessage
	JSON       json.RawMessage
}

// parsedObjects returns the peer's inbox with what Fedify parsed of each
// activity's object.
func (p *peer) parsedObjects(t *testing.T) []parsedObject {
	t.Helper()
	var list []parsedObject
	p.get(t, "/control/inbox", &list)
	return list
}

// waitForObject polls the peer's inbox until a verified activity of that
// type, from actor, carries the object id, and returns it. One that Fedify
// could not verify fails the test at once.
func waitForObject(t *testing.T, p *peer, typ, actor, id string) parsedObject {
	t.Helper()
	var found parsedObject
	waitFor(t, typ+" of "+id+" in the Fedify peer's inbox", func() bool {
		for _, r := range p.parsedObjects(t) {
			if r.Type != typ || r.ObjectID != id {
				continue
			}
			if !r.Verified {
				t.Fatalf("%s of %s reached Fedify but failed verification: %s\n%s", typ, id, r.Reason, r.JSON)
			}
			if r.Actor != actor {
				t.Fatalf("%s of %s from %q, want %q", typ, id, r.Actor, actor)
			}
			found = r
			return true
		}
		return false
	})
	return found
}

// motionJSON is a motion as the JSON API shows it.
type motionJSON struct {
	ID       string
	Title    string
	State    string
	ClosesAt string `json:"closes_at"`
	Eligible int
	Voters   int
	Tally    []struct {
		Option string
		Votes  int
	}
}

// motion returns the coop's motion with that IRI from the API's list.
func motion(t *testing.T, inst *fedtest.Instance, coop, id string) motionJSON {
	t.Helper()
	var list struct{ Items []motionJSON }
	if st := inst.API(t, http.MethodGet, "/api/v1/coops/"+coop+"/motions", nil, &list); st != http.StatusOK {
		t.Fatalf("GET motions: %d", st)
	}
	for _, m := range list.Items {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("motion %s not in the coop's list %+v", id, list.Items)
	return motionJSON{}
}

// votes returns a motion's tally as option -> votes.
func (m motionJSON) votes() map[string]int {
	out := map[string]int{}
	for _, o := range m.Tally {
		out[o.Option] = o.Votes
	}
	return out
}

// TestFedifyMarketAndGovernance follows a coop from the Fedify actor and
// checks what the coop publishes with Fedify's own vocabulary parser: a
// listing (a Note with FEP-0837 properties) and a motion (a Question). The
// peer then votes on the motion as Mastodon does: a vote from an account
// not linked to a member is answered 202 and not counted; once the
// members API links the peer's actor to a member, its vote is counted and
// the coop's tally Update reaches Fedify.
func TestFedifyMarketAndGovernance(t *testing.T) {
	p := startPeer(t)
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	coop := inst.ActorIRI()
	coopInbox := inst.IRIs().CoopInbox("bakery")

	var follow struct{ ID string }
	p.post(t, "/control/follow", map[string]any{"actor": coop}, &follow)
	waitForActivity(t, p, "Accept from the coop", func(r received) bool {
		return r.Type == "Accept" && r.Actor == coop && r.Object == follow.ID
	})

	t.Run("ListingParsedAsNote", func(t *testing.T) {
		var listing struct {
			ID, Title, Headline string
		}
		body := map[string]any{
			"kind": "offer", "title": "organic flour", "category": "flour",
			"description": "Stone-ground wheat flour from this year's harvest.",
			"quantity":    map[string]any{"value": 25, "unit": "kilogram"},
			"available":   map[string]any{"value": 200, "unit": "kilogram"},
			"unit_based":  true,
			"reciprocal":  map[string]any{"price": map[string]any{"amount": "1.20", "currency": "EUR"}},
		}
		if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/listings", body, &listing); st != http.StatusCreated {
			t.Fatalf("POST listing: %d", st)
		}
		got := waitForObject(t, p, "Create", coop, listing.ID)
		if got.ObjectType != "Note" {
			t.Errorf("Fedify parsed the listing as %q, want Note: %s", got.ObjectType, got.JSON)
		}
		if got.AttributedTo != coop {
			t.Errorf("attributedTo as Fedify parsed it: %q, want the coop", got.AttributedTo)
		}
		if got.Name != listing.Title {
			t.Errorf("name as Fedify parsed it: %q, want %q", got.Name, listing.Title)
		}
		if !strings.Contains(got.Content, "organic flour") || !strings.Contains(got.Content, "Stone-ground wheat flour") {
			t.Errorf("content as Fedify parsed it: %q, want the headline %q and the description", got.Content, listing.Headline)
		}
		if got.Listing == nil {
			t.Fatalf("no FEP-0837 properties in the delivered Create: %s", got.JSON)
		}
		if got.Listing.Purpose != "offer" {
			t.Errorf("purpose %q, want offer", got.Listing.Purpose)
		}
		if q := got.Listing.ResourceQuantity; q == nil || q.HasUnit != "kilogram" || q.HasNumericalValue != "25" {
			t.Errorf("publishes.resourceQuantity %+v, want 25 kilogram", q)
		}
		// Fedify's vocabulary has no FEP-0837 terms: what it keeps of them
		// is its JSON-LD cache of the document it parsed.
		if got.FedifyListing != nil {
			t.Logf("Fedify's JSON-LD of the parsed Note keeps the FEP-0837 terms: %+v", *got.FedifyListing)
		} else {
			t.Logf("Fedify's JSON-LD of the parsed Note drops the FEP-0837 terms: %s", got.ObjectJSON)
		}
	})

	// Two members, neither linked to the peer yet: both eligible when the
	// motion opens, so ana may vote from the peer once linked.
	for _, name := range []string{"ana", "ben"} {
		if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/members", map[string]any{"username": name, "role": "member", "actors": []string{}}, nil); st != http.StatusCreated {
			t.Fatalf("add member %s: %d", name, st)
		}
	}
	closesAt := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	var m motionJSON
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/motions", map[string]any{
		"title": "Buy a second oven", "text": "The old one fails twice a week.", "kind": "choice",
		"options": []string{"Yes", "No"}, "closes_at": closesAt.Format(time.RFC3339), "quorum": 0.5, "threshold": 0.5,
	}, &m); st != http.StatusCreated {
		t.Fatalf("POST motion: %d", st)
	}
	if m.State != "open" || m.Eligible != 2 {
		t.Fatalf("motion %+v, want open with 2 eligible members", m)
	}

	t.Run("MotionParsedAsQuestion", func(t *testing.T) {
		got := waitForObject(t, p, "Create", coop, m.ID)
		if got.ObjectType != "Question" || got.Question == nil {
			t.Fatalf("Fedify parsed the motion as %q, want Question: %s", got.ObjectType, got.JSON)
		}
		q := got.Question
		var names []string
		for _, o := range q.OneOf {
			names = append(names, o.Name)
			if o.Votes == nil || *o.Votes != 0 {
				t.Errorf("option %q: votes (replies.totalItems) %v, want 0", o.Name, o.Votes)
			}
		}
		if !slices.Equal(names, []string{"Yes", "No"}) {
			t.Errorf("exclusiveOptions (oneOf) as Fedify parsed them: %q, want Yes, No", names)
		}
		if len(q.AnyOf) != 0 {
			t.Errorf("inclusiveOptions (anyOf) of a single choice: %+v", q.AnyOf)
		}
		if end, err := time.Parse(time.RFC3339, q.EndTime); err != nil || !end.Equal(closesAt) {
			t.Errorf("endTime as Fedify parsed it: %q, want %s", q.EndTime, closesAt.Format(time.RFC3339))
		}
		if q.Voters == nil || *q.Voters != 0 {
			t.Errorf("voters (votersCount) as Fedify parsed it: %v, want 0", q.Voters)
		}
		if q.Closed != nil {
			t.Errorf("an open motion is closed for Fedify: %q", *q.Closed)
		}
		if got.Name != m.Title || got.AttributedTo != coop {
			t.Errorf("name %q attributedTo %q, want %q and the coop", got.Name, got.AttributedTo, m.Title)
		}
	})

	// vote has the peer vote and waits until coopfed answered its POST to
	// the coop's inbox with a 2xx, which it returns.
	vote := func(t *testing.T, option string) int {
		t.Helper()
		before := len(p.requests(t))
		var sent struct{ ID, Create, To, Inbox string }
		p.post(t, "/control/vote", map[string]any{"question": m.ID, "option": option}, &sent)
		if sent.To != coop || sent.Inbox != coopInbox {
			t.Errorf("the peer sent its vote to %q (inbox %q), want the coop %q (%q)", sent.To, sent.Inbox, coop, coopInbox)
		}
		status := 0
		waitFor(t, "the vote's delivery to the coop's inbox", func() bool {
			for _, r := range p.requests(t)[before:] {
				if r.Method == http.MethodPost && r.URL == coopInbox && r.Status >= 200 && r.Status < 300 {
					status = r.Status
					return true
				}
			}
			return false
		})
		logPosts(t, p, coopInbox)
		return status
	}

	t.Run("UnlinkedVoteIgnored", func(t *testing.T) {
		if st := vote(t, "Yes"); st != http.StatusAccepted {
			t.Errorf("coopfed answered the unlinked vote %d, want 202", st)
		}
		got := motion(t, inst, "bakery", m.ID)
		if got.Voters != 0 || got.votes()["Yes"] != 0 || got.votes()["No"] != 0 {
			t.Errorf("a vote from an account linked to no member counted: %+v", got)
		}
	})

	t.Run("LinkedVoteCounted", func(t *testing.T) {
		var member struct {
			Username string
			Actors   []string
		}
		if st := inst.API(t, http.MethodPatch, "/api/v1/coops/bakery/members/ana", map[string]any{"actors": []string{p.Actor}}, &member); st != http.StatusOK {
			t.Fatalf("link the peer to ana: %d", st)
		}
		if !slices.Equal(member.Actors, []string{p.Actor}) {
			t.Fatalf("ana's accounts: %q, want the peer", member.Actors)
		}
		st := vote(t, "No")
		t.Logf("coopfed answered the linked vote %d", st)
		waitFor(t, "the peer's vote in the motion's tally", func() bool {
			return motion(t, inst, "bakery", m.ID).votes()["No"] == 1
		})
		got := motion(t, inst, "bakery", m.ID)
		if got.Voters != 1 || got.votes()["Yes"] != 0 {
			t.Errorf("tally after one linked vote for No (and an unlinked one for Yes before): %+v", got)
		}

		// The tally Update goes to followers and voters; Fedify must parse
		// it as the same Question with the new counts.
		var update parsedObject
		waitFor(t, "the tally Update(Question) in the Fedify peer's inbox", func() bool {
			for _, r := range p.parsedObjects(t) {
				if r.Type == "Update" && r.ObjectID == m.ID && r.Question != nil && r.Question.Voters != nil && *r.Question.Voters == 1 {
					update = r
					return true
				}
			}
			return false
		})
		if !update.Verified || update.ObjectType != "Question" {
			t.Errorf("tally Update: verified %v, object %q: %s", update.Verified, update.ObjectType, update.JSON)
		}
		counts := map[string]int{}
		for _, o := range update.Question.OneOf {
			if o.Votes != nil {
				counts[o.Name] = *o.Votes
			}
		}
		if counts["Yes"] != 0 || counts["No"] != 1 {
			t.Errorf("option counts in the tally Update as Fedify parsed them: %v, want Yes 0, No 1", counts)
		}
	})

	assertAllVerified(t, p)
}
