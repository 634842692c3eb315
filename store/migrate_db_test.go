package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store/pgtest"
)

// copyFixture is a SQLite store filled through the store API with some of
// everything an instance keeps, and what the checks after a copy need.
type copyFixture struct {
	s      *Store
	clock  *testClock
	bakery *coopfed.Coop
	farm   *coopfed.Coop
	closed *coopfed.Motion // closed, with votes
	open   *coopfed.Motion // still open, with a vote
	// gone is a tombstoned local listing, flour a closed one.
	gone, flour *coopfed.Listing
	cy          *coopfed.Member
}

const (
	copyHere  = "https://here.example"
	copyAna   = "https://social.example/users/ana"
	copyBo    = "https://social.example/users/bo"
	copyMill  = "https://mill.example/coops/mill"
	copyRelay = "https://relay.example/groups/north"
)

// Leeds and York are 35 km apart; Bristol is 280 km from either.
var (
	copyLeeds   = [2]float64{53.8008, -1.5491}
	copyYork    = [2]float64{53.9600, -1.0873}
	copyBristol = [2]float64{51.4545, -2.5879}
)

func copyPlace(name string, p [2]float64) *coopfed.Place {
	return &coopfed.Place{Name: name, Latitude: ptr(p[0]), Longitude: ptr(p[1])}
}

func newCopyFixture(t *testing.T, clock *testClock) *copyFixture {
	t.Helper()
	ctx := context.Background()
	s := openTestStoreAt(t, filepath.Join(t.TempDir(), "coopfed.db"), clock)
	f := &copyFixture{s: s, clock: clock}
	step := func(fn func(tx *Tx) error) {
		t.Helper()
		clock.Add(time.Second)
		mustUpdate(t, s, fn)
	}

	// Coops, a group with a moderator, tokens, an instance setting.
	f.bakery = createTestCoop(t, s, "bakery")
	f.farm = createTestCoop(t, s, "farm")
	createTestCoop(t, s, "quiet")
	g := createTestGroup(t, s, f.bakery, "market", copyAna)
	step(func(tx *Tx) error {
		for _, c := range []*coopfed.Coop{f.bakery, f.farm} {
			if _, err := tx.CreateToken(c.ID, "admin"); err != nil {
				return err
			}
		}
		return tx.PutSetting("instance_actor_private_key", "instance private key")
	})

	// Remote actors, followers and follows in both states.
	step(func(tx *Tx) error {
		for _, a := range []*coopfed.RemoteActor{
			{IRI: copyAna, Type: "Person", PreferredUsername: "ana", Host: "social.example", Name: "Ana Núñez", Inbox: copyAna + "/inbox",
				SharedInbox: "https://social.example/inbox", PublicKeyID: copyAna + "#main-key", PublicKeyPEM: "ana key", FetchedAt: clock.Now()},
			{IRI: copyBo, Type: "Person", PreferredUsername: "bo", Host: "social.example", Inbox: copyBo + "/inbox",
				PublicKeyID: copyBo + "#main-key", PublicKeyPEM: "bo key", FetchedAt: clock.Now()},
			{IRI: copyMill, Type: "Organization", PreferredUsername: "mill", Host: "mill.example", Summary: "<p>Flour</p>", Inbox: copyMill + "/inbox",
				PublicKeyID: copyMill + "#main-key", PublicKeyPEM: "mill key", FetchedAt: clock.Now(), Region: "Yorkshire"},
			{IRI: copyRelay, Type: "Group", PreferredUsername: "north", Host: "relay.example", Inbox: copyRelay + "/inbox",
				PublicKeyID: copyRelay + "#main-key", PublicKeyPEM: "relay key", FetchedAt: clock.Now()},
		} {
			if err := tx.PutRemoteActor(a); err != nil {
				return err
			}
		}
		for _, fl := range []*coopfed.Follower{
			{CoopID: f.bakery.ID, ActorIRI: copyAna, FollowIRI: copyAna + "/follows/1", State: coopfed.FollowAccepted},
			{CoopID: f.bakery.ID, ActorIRI: copyBo, FollowIRI: copyBo + "/follows/1", State: coopfed.FollowPending},
			{CoopID: g.ID, ActorIRI: copyMill, FollowIRI: copyMill + "/follows/market", State: coopfed.FollowAccepted},
		} {
			if err := tx.PutFollower(fl); err != nil {
				return err
			}
		}
		for _, fl := range []*coopfed.Following{
			{CoopID: f.farm.ID, ActorIRI: copyMill, FollowIRI: copyHere + "/follows/1", State: coopfed.FollowAccepted},
			{CoopID: f.farm.ID, ActorIRI: copyRelay, FollowIRI: copyHere + "/follows/2", State: coopfed.FollowAccepted},
			{CoopID: f.bakery.ID, ActorIRI: copyBo, FollowIRI: copyHere + "/follows/3", State: coopfed.FollowPending},
		} {
			if err := tx.PutFollowing(fl); err != nil {
				return err
			}
		}
		return nil
	})

	// Objects, one deleted; activities queued to inboxes that end done,
	// failed, due for a retry, leased and never tried.
	step(func(tx *Tx) error {
		for i, o := range []*Object{
			{IRI: copyHere + "/notes/1", CoopID: f.bakery.ID, Type: "Note", Content: "Fresh loaves today", JSON: []byte(`{"type":"Note","content":"Fresh loaves today"}`)},
			{IRI: copyHere + "/notes/2", CoopID: f.bakery.ID, Type: "Note", Content: "Closed Monday", JSON: []byte(`{"type":"Note"}`)},
		} {
			if err := tx.InsertObject(o); err != nil {
				return err
			}
			a := &coopfed.Activity{IRI: fmt.Sprintf("%s/activities/%d", copyHere, i+1), CoopID: f.bakery.ID, Type: "Create", ObjectIRI: o.IRI, Public: true,
				JSON: []byte(`{"type":"Create","object":"` + o.IRI + `"}`)}
			if err := tx.InsertActivity(a); err != nil {
				return err
			}
			if _, err := tx.EnqueueDeliveries(a.ID, []string{"https://done.example/inbox", "https://failed.example/inbox", "https://retry.example/inbox",
				"https://leased.example/inbox", "https://later.example/inbox"}); err != nil {
				return err
			}
		}
		return tx.DeleteObject(copyHere + "/notes/2")
	})
	var results []DeliveryResult
	for _, d := range claim(t, s, 100, time.Hour, "later.example") {
		switch d.Host {
		case "done.example":
			results = append(results, DeliveryResult{ID: d.ID, State: coopfed.DeliveryDone, Attempts: 1})
		case "failed.example":
			results = append(results, DeliveryResult{ID: d.ID, State: coopfed.DeliveryFailed, Attempts: 1, Error: "refused with status 403"})
		case "retry.example":
			results = append(results, DeliveryResult{ID: d.ID, State: coopfed.DeliveryPending, Attempts: 2, Next: clock.Now().Add(time.Hour), Error: "status 503"})
		}
	}
	finish(t, s, results...)

	// What came in: seen ids, the timeline, blocks.
	step(func(tx *Tx) error {
		if _, err := tx.MarkSeen(copyAna+"/activities/9", ""); err != nil {
			return err
		}
		if err := tx.PutTimelineItem(&coopfed.TimelineItem{CoopID: f.farm.ID, ActivityIRI: copyMill + "/activities/1", ObjectIRI: copyMill + "/notes/1",
			ObjectType: "Note", ActorIRI: copyMill, Content: "<p>Rye is in</p>", Published: clock.Now()}); err != nil {
			return err
		}
		if err := tx.BlockDomain("spam.example", "spam"); err != nil {
			return err
		}
		return tx.BlockActor("https://social.example/users/troll", "abuse")
	})

	// Listings: local ones near Leeds (open, closed, tombstoned), remote
	// ones near York and Bristol and one without a place; the relay
	// brought one, and one was taken out of the market.
	local := func(n int, kind, title, cat string, p *coopfed.Place) *coopfed.Listing {
		return &coopfed.Listing{IRI: fmt.Sprintf("%s/listings/%d", copyHere, n), CoopID: f.bakery.ID, ActorIRI: copyHere + "/coops/bakery",
			Kind: kind, Title: title, Description: "Baked this morning, crème fraîche on request", Category: cat,
			Quantity: coopfed.Quantity{Value: 12.5, Unit: "kilogram"}, Available: &coopfed.Quantity{Value: 10, Unit: "kilogram"},
			Reciprocal: &coopfed.Reciprocal{Kind: "price", Price: coopfed.Price{Amount: "3.20", Currency: "EUR"}},
			Place:      p, State: coopfed.ListingOpen, Audience: []string{copyHere + "/groups/market"}}
	}
	remote := func(n int, actor, title string, p *coopfed.Place) *coopfed.Listing {
		return &coopfed.Listing{IRI: fmt.Sprintf("%s/listings/%d", strings.TrimSuffix(actor, "/coops/mill"), n), ActorIRI: actor, Kind: coopfed.ListingOffer,
			Title: title, Category: "bread", Quantity: coopfed.Quantity{Value: 3, Unit: "one"}, Place: p, State: coopfed.ListingOpen, Published: clock.Now()}
	}
	bread := local(1, coopfed.ListingOffer, "Sourdough bread", "bread", copyPlace("Leeds", copyLeeds))
	flour := local(2, coopfed.ListingNeed, "Rye flour", "flour", copyPlace("Leeds", copyLeeds))
	gone := local(3, coopfed.ListingOffer, "Old bread", "bread", copyPlace("Leeds", copyLeeds))
	f.gone, f.flour = gone, flour
	step(func(tx *Tx) error {
		for _, l := range []*coopfed.Listing{bread, flour, gone} {
			if err := tx.InsertListing(l); err != nil {
				return err
			}
		}
		flour.State = coopfed.ListingClosed
		if err := tx.UpdateListing(flour); err != nil {
			return err
		}
		return tx.TombstoneListing(gone.IRI)
	})
	step(func(tx *Tx) error {
		york := remote(1, copyMill, "Rye bread loaves", copyPlace("York", copyYork))
		bristol := remote(2, copyMill, "Spelt bread", copyPlace("Bristol", copyBristol))
		nowhere := remote(3, copyMill, "Bread crumbs", nil)
		spam := remote(4, copyMill, "Bread spam", nil)
		for _, l := range []*coopfed.Listing{york, bristol, nowhere, spam} {
			if _, err := tx.PutRemoteListing(l); err != nil {
				return err
			}
		}
		if _, err := tx.AddListingVia(york.ID, copyRelay, copyRelay+"/announces/1"); err != nil {
			return err
		}
		_, err := tx.RemoveFromMarket(spam.IRI, "report 1")
		return err
	})

	// The group: a post, a ban.
	step(func(tx *Tx) error {
		if err := tx.PutGroupPost(&coopfed.GroupPost{GroupID: g.ID, ObjectIRI: bread.IRI, ActorIRI: bread.ActorIRI, AnnounceIRI: copyHere + "/activities/announce/1",
			Kind: coopfed.ListingOffer, Category: "bread", Title: bread.Title, State: coopfed.PostOpen}); err != nil {
			return err
		}
		_, err := tx.BanFromGroup(g.ID, "https://spam.example/coops/x", "spam")
		return err
	})

	// Members with linked accounts and passwords, sessions; a motion that
	// closed after votes (which the vote trigger would now refuse) and one
	// still open with a vote; a reply and a tally.
	ana := addMember(t, s, f.bakery, "ana", copyAna)
	bo := addMember(t, s, f.bakery, "bo", copyBo)
	f.cy = addMember(t, s, f.bakery, "cy") // eligible, never votes
	step(func(tx *Tx) error {
		if err := tx.SetPassword(f.bakery.ID, "ana", "correct horse battery"); err != nil {
			return err
		}
		_, _, err := tx.CreateSession(ana, time.Hour)
		return err
	})
	f.closed = openMotion(t, s, f.bakery, coopfed.MotionChoice, "rye", "spelt")
	f.open = openMotion(t, s, f.bakery, coopfed.MotionMultiple, "monday", "tuesday", "friday")
	step(func(tx *Tx) error {
		for _, v := range []struct {
			m      *coopfed.Motion
			member *coopfed.Member
			option string
			iri    string
		}{
			{f.closed, ana, "rye", copyAna + "/votes/1"},
			{f.closed, bo, "spelt", ""},
			{f.closed, bo, "rye", ""}, // a changed vote: vote_changes
			{f.open, ana, "monday", ""},
			{f.open, ana, "friday", ""},
		} {
			if _, err := tx.CastBallot(&CastBallot{MotionID: v.m.ID, MemberID: v.member.ID, Choices: []string{v.option}, ActivityIRI: v.iri, ActorIRI: copyAna, Add: v.m.Kind == coopfed.MotionMultiple},
				v.m.Kind != coopfed.MotionMultiple); err != nil {
				return err
			}
		}
		if err := tx.PutMotionReply(&coopfed.MotionReply{MotionID: f.closed.ID, ObjectIRI: copyBo + "/notes/7", ActorIRI: copyBo, Content: "Spelt sells better",
			Published: clock.Now()}); err != nil {
			return err
		}
		if err := tx.CreateClass(&coopfed.MemberClass{CoopID: f.bakery.ID, Name: "workers", Title: "Workers"}); err != nil {
			return err
		}
		if err := tx.AddFederation(f.bakery.ID, copyMill); err != nil {
			return err
		}
		return tx.ScheduleTally(f.open.ID, clock.Now().Add(time.Minute))
	})
	step(func(tx *Tx) error {
		f.closed.Outcome, f.closed.OutcomeText = "no_quorum", "rye 1, spelt 1: no quorum"
		f.closed.OutcomeIRI = copyHere + "/notes/outcome"
		_, err := tx.CloseMotion(f.closed)
		return err
	})
	// The cycle: the closed motion's tasks (one done), its review and a
	// follow-up; a motion under discussion, amended, with a member's reply.
	step(func(tx *Tx) error {
		task := &coopfed.Task{MotionID: f.closed.ID, Title: "Order rye", OwnerID: ana.ID, DueAt: clock.Now().Add(24 * time.Hour)}
		if err := tx.AddTask(task); err != nil {
			return err
		}
		if err := tx.AddTask(&coopfed.Task{MotionID: f.closed.ID, Title: "Tell the shop", OwnerID: bo.ID, DueAt: clock.Now().Add(48 * time.Hour)}); err != nil {
			return err
		}
		if _, err := tx.CompleteTask(task.ID, bo.ID); err != nil {
			return err
		}
		if err := tx.SetReviewDate(f.closed, clock.Now()); err != nil {
			return err
		}
		if _, err := tx.StartReview(f.closed, copyHere+"/notes/review-due"); err != nil {
			return err
		}
		if err := tx.PutOutcomeReview(&coopfed.ReviewRecord{MotionID: f.closed.ID, MemberID: ana.ID, Verdict: coopfed.VerdictPartly, Text: "rye ran out"}); err != nil {
			return err
		}
		disc := &coopfed.Motion{IRI: copyHere + "/motions/sunday", CoopID: f.bakery.ID, Title: "Open on Sundays", Text: "Every Sunday", Kind: coopfed.MotionConsent,
			Options: coopfed.ConsentOptions, Threshold: 0.5, OpensAt: clock.Now().Add(time.Hour), ClosesAt: clock.Now().Add(2 * time.Hour), Discussed: true, FollowUpOf: f.closed.IRI}
		if err := tx.CreateMotion(disc); err != nil {
			return err
		}
		if err := tx.AmendMotion(disc, &coopfed.Amendment{Text: "Sundays in summer", Note: "summer only"}, ana.ID); err != nil {
			return err
		}
		return tx.PutMotionReply(&coopfed.MotionReply{MotionID: disc.ID, ObjectIRI: copyHere + "/notes/ana-reply", ActorIRI: copyHere + "/coops/bakery", Content: "<p>Summer only</p>",
			Published: clock.Now(), InReplyTo: disc.IRI, MemberID: ana.ID})
	})

	// Trades: farm takes bread from bakery (accepted, confirmed by one
	// side, in both ledgers); a remote offer rejected; credit limits.
	step(func(tx *Tx) error {
		tr := &coopfed.Trade{IRI: copyHere + "/offers/1", ListingIRI: bread.IRI, ListingKind: bread.Kind, ListingTitle: bread.Title,
			ProposerIRI: copyHere + "/coops/farm", ProposerCoopID: f.farm.ID, OwnerIRI: bread.ActorIRI, OwnerCoopID: f.bakery.ID,
			Quantity: coopfed.Quantity{Value: 2, Unit: "kilogram"}, Reciprocal: &coopfed.Reciprocal{Kind: "credits", Price: coopfed.Price{Amount: "6.40"}},
			Message: "For Saturday", State: coopfed.TradeProposed}
		if err := tx.InsertTrade(tr); err != nil {
			return err
		}
		if err := tx.AnswerTrade(tr, coopfed.TradeAccepted, copyHere+"/activities/accept/1", copyHere+"/agreements/1", ""); err != nil {
			return err
		}
		for _, e := range []coopfed.LedgerEntry{
			{CoopID: f.bakery.ID, Counterpart: tr.ProposerIRI, Direction: "gave", Credits: 64000, Date: clock.Now()},
			{CoopID: f.farm.ID, Counterpart: tr.OwnerIRI, Direction: "received", Credits: -64000, Date: clock.Now()},
		} {
			if err := tx.InsertLedgerEntry(tr.ID, e); err != nil {
				return err
			}
		}
		if _, err := tx.ConfirmTrade(tr, true, copyHere+"/notes/receipt/1"); err != nil {
			return err
		}
		if err := tx.SetAgreementJSON(tr, `{"id":"`+copyHere+`/agreements/1","type":"Agreement"}`); err != nil {
			return err
		}
		rv := &coopfed.Review{IRI: copyHere + "/notes/review/1", TradeID: tr.ID, AuthorIRI: tr.ProposerIRI, SubjectIRI: tr.OwnerIRI,
			Rating: 4, Text: "Good bread"}
		if err := tx.InsertReview(rv); err != nil {
			return err
		}
		if err := tx.ReplyToReview(rv, "Thank you", copyHere+"/notes/answer/1"); err != nil {
			return err
		}
		d := &coopfed.Dispute{IRI: copyHere + "/notes/dispute/1", TradeID: tr.ID, OpenerIRI: tr.ProposerIRI, Reason: "Stale"}
		if err := tx.OpenDispute(d); err != nil {
			return err
		}
		if err := tx.ResolveDispute(d, tr.OwnerIRI, "Replaced", copyHere+"/notes/resolve/1"); err != nil {
			return err
		}
		rej := &coopfed.Trade{IRI: copyMill + "/offers/9", ListingIRI: bread.IRI, ListingKind: bread.Kind, ListingTitle: bread.Title,
			ProposerIRI: copyMill, OwnerIRI: bread.ActorIRI, OwnerCoopID: f.bakery.ID, Quantity: coopfed.Quantity{Value: 1, Unit: "kilogram"}, State: coopfed.TradeProposed}
		if err := tx.InsertTrade(rej); err != nil {
			return err
		}
		if err := tx.AnswerTrade(rej, coopfed.TradeRejected, copyHere+"/activities/reject/1", "", "sold out"); err != nil {
			return err
		}
		if err := tx.SetCreditLimit(f.bakery.ID, "", 100000); err != nil {
			return err
		}
		return tx.SetCreditLimit(f.bakery.ID, tr.ProposerIRI, 250000)
	})

	// A closed budget round of the bakery with a funded bucket, two
	// allocations (one cast by a remote coop) and a spend; and the copy
	// of a round of the mill.
	step(func(tx *Tx) error {
		r := &coopfed.BudgetRound{IRI: copyHere + "/budgets/1", CoopID: f.bakery.ID, OwnerIRI: copyHere + "/coops/bakery", Title: "Winter fund",
			Pot: 30000, Currency: "EUR", Decimals: 2, Model: coopfed.BudgetAllocate, AllocatorCoops: []coopfed.AllocatorCoop{{Coop: copyHere + "/coops/bakery", Members: 1}, {Coop: copyMill, Members: 1}},
			Allocators: 2, Share: 15000, ClosesAt: tx.Now().Add(time.Hour), State: coopfed.RoundOpen}
		if err := tx.InsertRound(r); err != nil {
			return err
		}
		b := &coopfed.Bucket{IRI: copyMill + "/buckets/1", RoundID: r.ID, AuthorIRI: copyMill, Title: "Oven", Asked: 20000,
			PaymentLinks: []coopfed.PaymentLink{{Name: "Bank", Href: "payto://iban/DE75512108001245126199"}}}
		if err := tx.InsertBucket(b); err != nil {
			return err
		}
		for _, a := range []*coopfed.Allocation{
			{RoundID: r.ID, BucketID: b.ID, AllocatorIRI: copyHere + "/coops/bakery/members/ana", CoopIRI: copyHere + "/coops/bakery", Amount: 15000},
			{RoundID: r.ID, BucketID: b.ID, AllocatorIRI: copyMill + "/members/mo", CoopIRI: copyMill, Amount: 5000, ActivityIRI: copyMill + "/allocations/1"},
		} {
			if _, err := tx.Allocate(a, r.Share, 1); err != nil {
				return err
			}
		}
		b.Funded, b.FundedAmount = true, 20000
		if err := tx.SetBucketFunding(b); err != nil {
			return err
		}
		r.State, r.ClosedAt = coopfed.RoundClosed, tx.Now()
		if _, err := tx.SetRoundState(r, coopfed.RoundOpen); err != nil {
			return err
		}
		if err := tx.InsertSpend(&coopfed.Spend{RoundID: r.ID, BucketID: b.ID, Amount: 20000, Reference: "transfer 1"}); err != nil {
			return err
		}
		return tx.InsertRound(&coopfed.BudgetRound{IRI: copyMill + "/budgets/1", OwnerIRI: copyMill, Title: "Mill fund", Pot: 100, Currency: "credits",
			Decimals: 4, Model: coopfed.BudgetMotion, ClosesAt: tx.Now().Add(time.Hour), VotingClosesAt: tx.Now().Add(2 * time.Hour), State: coopfed.RoundOpen})
	})

	// A commons project with a member's pledge, a remote one changed once,
	// and the bakery's own pledge to a remote project.
	step(func(tx *Tx) error {
		p := &coopfed.Project{CoopID: f.bakery.ID, IRI: copyHere + "/projects/1", Title: "Shared oven", Description: "For the street",
			Currency: "EUR", Digits: 3, Unit: 1}
		if err := tx.InsertProject(p); err != nil {
			return err
		}
		for _, pl := range []*coopfed.Pledge{
			{ProjectIRI: p.IRI, Pledger: coopfed.MemberPledger(bo.ID), MemberID: bo.ID, Name: "bo", Cap: 500},
			{ProjectIRI: p.IRI, Pledger: copyMill, Name: "mill@mill.example", Cap: 100, Activity: copyMill + "/join/1"},
			{ProjectIRI: p.IRI, Pledger: copyMill, Name: "mill@mill.example", Cap: 900, Activity: copyMill + "/join/2"},
			{ProjectIRI: copyMill + "/projects/7", Pledger: copyHere + "/coops/bakery", Name: "bakery", Cap: 50, Activity: copyHere + "/activities/join/1"},
		} {
			if _, err := tx.PutPledge(pl); err != nil {
				return err
			}
		}
		return nil
	})

	// Notifications, one read; reports, one resolved and forwarded.
	step(func(tx *Tx) error {
		for _, n := range []*coopfed.Notification{
			{CoopID: f.bakery.ID, Kind: coopfed.NotifyMatch, NeedIRI: flour.IRI, OfferIRI: copyMill + "/listings/1"},
			{CoopID: f.bakery.ID, Kind: coopfed.NotifyTrade, ActivityIRI: copyMill + "/offers/9", ListingIRI: bread.IRI, ActorIRI: copyMill},
		} {
			if _, err := tx.AddNotification(n); err != nil {
				return err
			}
		}
		if _, err := tx.MarkNotificationsRead(f.bakery.ID, 1); err != nil {
			return err
		}
		local := &coopfed.Report{CoopID: f.bakery.ID, Origin: coopfed.ReportLocal, ReporterMember: "ana", TargetActor: copyMill,
			Objects: []string{copyMill + "/listings/4"}, Comment: "spam"}
		if err := tx.AddReport(local); err != nil {
			return err
		}
		if err := tx.ReportForwarded(local.ID, copyHere+"/activities/flag/1"); err != nil {
			return err
		}
		if err := tx.ResolveReport(local.ID, coopfed.ResolveDismiss); err != nil {
			return err
		}
		return tx.AddReport(&coopfed.Report{CoopID: f.bakery.ID, Origin: coopfed.ReportRemote, FlagIRI: copyMill + "/flags/1", ReporterIRI: copyMill,
			TargetActor: copyBo, Comment: "rude"})
	})

	// The fixture is only thorough if it reaches every table.
	d, err := s.Digests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, td := range d {
		if td.Rows == 0 {
			t.Errorf("the copy fixture leaves table %s empty", name)
		}
	}
	return f
}

// openCopyDestination opens an empty PostgreSQL schema with the fixture's
// clock.
func openCopyDestination(t *testing.T, clock *testClock) *Store {
	t.Helper()
	return openTestStoreAt(t, pgtest.NewDatabase(t), clock)
}

// withoutMigrations drops schema_migrations from a digest map: its rows
// are each database's own record of its migrations, not copied data.
func withoutMigrations(d map[string]TableDigest) map[string]TableDigest {
	out := maps.Clone(d)
	delete(out, "schema_migrations")
	return out
}

func mustDigests(t *testing.T, s *Store) map[string]TableDigest {
	t.Helper()
	d, err := s.Digests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// CopyTo moves a whole instance from SQLite to PostgreSQL: every table
// arrives with the same rows (digests agree), the PostgreSQL store then
// answers the reads that matter the same way, and new rows are numbered
// after the copied ones.
func TestCopyToPostgres(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dst := openCopyDestination(t, clock)
	f := newCopyFixture(t, clock)
	src := f.s

	rep, err := src.CopyTo(ctx, dst)
	if err != nil {
		t.Fatalf("CopyTo: %v", err)
	}

	// The report names every table but schema_migrations, with the
	// source's row count and digest.
	srcDigests := withoutMigrations(mustDigests(t, src))
	var names []string
	for _, tb := range rep.Tables {
		names = append(names, tb.Name)
		want := srcDigests[tb.Name]
		if tb.Rows != want.Rows || tb.Digest != want.Digest {
			t.Errorf("report for %s: %d rows, digest %s; source has %d rows, digest %s", tb.Name, tb.Rows, tb.Digest, want.Rows, want.Digest)
		}
	}
	if want := slices.Sorted(maps.Keys(srcDigests)); !slices.Equal(names, want) {
		t.Errorf("report tables %v, want %v", names, want)
	}
	dstDigests := mustDigests(t, dst)
	for name, want := range srcDigests {
		if got := dstDigests[name]; got != want {
			t.Errorf("table %s: destination %d rows %s, source %d rows %s", name, got.Rows, got.Digest, want.Rows, want.Digest)
		}
	}
	sv, _ := src.SchemaVersion(ctx)
	if dv, err := dst.SchemaVersion(ctx); err != nil || dv != sv {
		t.Errorf("destination schema version %d (%v), source %d", dv, err, sv)
	}

	// The same reads give the same answers on both.
	t.Run("market search", func(t *testing.T) {
		for _, q := range []MarketQuery{
			{Text: "bread"},
			{Text: "creme fraiche"}, // accents folded on both backends
			{Near: &copyLeeds, RadiusKm: 50, Sort: SortDistance},
			{Near: &copyLeeds, RadiusKm: 500, Text: "bread", Sort: SortDistance},
			{Group: copyRelay},
		} {
			want, got := searchSummary(t, src, q), searchSummary(t, dst, q)
			if len(want) == 0 {
				t.Errorf("%+v finds nothing on SQLite: the fixture does not test it", q)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%+v:\n postgres %v\n sqlite   %v", q, got, want)
			}
		}
		// Closed, tombstoned and removed listings stay out.
		for _, h := range searchSummary(t, dst, MarketQuery{Text: "bread", Limit: 100}) {
			if strings.HasPrefix(h, f.gone.IRI+" ") || strings.HasPrefix(h, f.flour.IRI+" ") || strings.Contains(h, "spam") {
				t.Errorf("search found %s", h)
			}
		}
	})
	t.Run("motions", func(t *testing.T) {
		for _, m := range []*coopfed.Motion{f.closed, f.open} {
			wantM, err1 := src.Motion(ctx, m.IRI)
			gotM, err2 := dst.Motion(ctx, m.IRI)
			if err1 != nil || err2 != nil || !reflect.DeepEqual(gotM, wantM) {
				t.Errorf("Motion(%s):\n postgres %+v (%v)\n sqlite   %+v (%v)", m.IRI, gotM, err2, wantM, err1)
			}
			wantB, err1 := src.Ballots(ctx, m.ID)
			gotB, err2 := dst.Ballots(ctx, m.ID)
			if err1 != nil || err2 != nil || len(wantB) == 0 || !reflect.DeepEqual(gotB, wantB) {
				t.Errorf("Ballots(%d):\n postgres %+v (%v)\n sqlite   %+v (%v)", m.ID, gotB, err2, wantB, err1)
			}
		}
		if got, _ := dst.Motion(ctx, f.closed.IRI); got.State != coopfed.MotionClosed || got.Eligible != 3 {
			t.Errorf("closed motion on postgres: state %s, %d eligible", got.State, got.Eligible)
		}
		// The trigger is back on: a vote on the closed motion is refused.
		err := dst.Update(ctx, func(tx *Tx) error {
			_, err := tx.CastBallot(&CastBallot{MotionID: f.closed.ID, MemberID: f.cy.ID, Choices: []string{"rye"}}, true)
			return err
		})
		wantCode(t, err, coopfed.ECONFLICT)
	})
	t.Run("ledger", func(t *testing.T) {
		for _, c := range []*coopfed.Coop{f.bakery, f.farm} {
			want, err1 := src.Ledger(ctx, c.ID)
			got, err2 := dst.Ledger(ctx, c.ID)
			if err1 != nil || err2 != nil || len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("Ledger(%s):\n postgres %+v (%v)\n sqlite   %+v (%v)", c.Name, got, err2, want, err1)
			}
			wantL, _ := src.CreditLimits(ctx, c.ID)
			gotL, err := dst.CreditLimits(ctx, c.ID)
			if err != nil || !reflect.DeepEqual(gotL, wantL) {
				t.Errorf("CreditLimits(%s): postgres %v (%v), sqlite %v", c.Name, gotL, err, wantL)
			}
		}
		if v, err := dst.CreditLimit(ctx, f.bakery.ID, copyHere+"/coops/farm", 0); err != nil || v != 250000 {
			t.Errorf("CreditLimit = %d, %v", v, err)
		}
	})

	// Every identity column's sequence was moved past the copied ids: one
	// new row in each identity table gets an id above them.
	t.Run("new ids", func(t *testing.T) {
		identity, err := queryStrings(ctx, dst.read, `SELECT table_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES' ORDER BY table_name`)
		if err != nil || len(identity) < 10 {
			t.Fatalf("identity tables %v, %v", identity, err)
		}
		maxID := func(table string) int64 {
			var v sql.NullInt64
			if err := dst.read.QueryRow(`SELECT MAX(id) FROM ` + quoteIdent(table)).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v.Int64
		}
		before := map[string]int64{}
		for _, tb := range identity {
			before[tb] = maxID(tb)
		}
		insertOneOfEach(t, dst, f)
		for _, tb := range identity {
			var n int64
			if err := dst.read.QueryRow(`SELECT COUNT(*) FROM `+quoteIdent(tb)+` WHERE id > ?`, before[tb]).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("table %s: no new row above id %d (insertOneOfEach must write one)", tb, before[tb])
			}
		}
	})
}

// searchSummary runs a market search and returns each hit as its IRI,
// title and distance (rounded to metres), in the order found.
func searchSummary(t *testing.T, s *Store, q MarketQuery) []string {
	t.Helper()
	hits, err := s.SearchListings(context.Background(), q)
	if err != nil {
		t.Fatalf("SearchListings(%+v) on postgres=%v: %v", q, s.pg, err)
	}
	var out []string
	for _, h := range hits {
		line := h.IRI + " " + h.Title
		if h.DistanceKm != nil {
			line += fmt.Sprintf(" %.3fkm", math.Round(*h.DistanceKm*1000)/1000)
		}
		out = append(out, line)
	}
	return out
}

// insertOneOfEach writes one new row into every table with an identity
// column, through the store API. An identity sequence left behind the
// copied ids shows as a failed insert (a taken id reads as a conflict).
func insertOneOfEach(t *testing.T, s *Store, f *copyFixture) {
	t.Helper()
	clock := f.clock
	clock.Add(time.Minute)
	c := createTestCoop(t, s, "newcomer") // coops
	createTestGroup(t, s, c, "newgroup")
	m := addMember(t, s, c, "dee") // members
	mot := openMotion(t, s, c, coopfed.MotionConsent, "yes", "no")
	mustUpdate(t, s, func(tx *Tx) error {
		if _, err := tx.CreateToken(c.ID, "new"); err != nil { // tokens
			return err
		}
		o := &Object{IRI: copyHere + "/notes/new", CoopID: c.ID, Type: "Note", Content: "new", JSON: []byte(`{}`)}
		if err := tx.InsertObject(o); err != nil { // objects
			return err
		}
		a := &coopfed.Activity{IRI: copyHere + "/activities/new", CoopID: c.ID, Type: "Create", ObjectIRI: o.IRI, JSON: []byte(`{}`)}
		if err := tx.InsertActivity(a); err != nil { // activities
			return err
		}
		if _, err := tx.EnqueueDeliveries(a.ID, []string{"https://new.example/inbox"}); err != nil { // deliveries
			return err
		}
		if err := tx.PutTimelineItem(&coopfed.TimelineItem{CoopID: c.ID, ActivityIRI: copyMill + "/activities/new", ObjectIRI: copyMill + "/notes/new",
			ObjectType: "Note", ActorIRI: copyMill, Content: "new", Published: tx.Now()}); err != nil { // timeline
			return err
		}
		l := &coopfed.Listing{IRI: copyHere + "/listings/new", CoopID: c.ID, ActorIRI: copyHere + "/coops/newcomer", Kind: coopfed.ListingOffer,
			Title: "New bread", Category: "bread", Quantity: coopfed.Quantity{Value: 1, Unit: "one"}, State: coopfed.ListingOpen}
		if err := tx.InsertListing(l); err != nil { // listings
			return err
		}
		if _, err := tx.AddNotification(&coopfed.Notification{CoopID: c.ID, Kind: coopfed.NotifyMatch, NeedIRI: l.IRI, OfferIRI: copyMill + "/listings/1"}); err != nil { // notifications
			return err
		}
		if _, err := tx.CastBallot(&CastBallot{MotionID: mot.ID, MemberID: m.ID, Choices: []string{"yes"}}, true); err != nil { // votes, ballots
			return err
		}
		if _, err := tx.CastBallot(&CastBallot{MotionID: mot.ID, MemberID: m.ID, Choices: []string{"no"}}, true); err != nil { // vote_changes
			return err
		}
		if err := tx.PutMotionReply(&coopfed.MotionReply{MotionID: mot.ID, ObjectIRI: copyBo + "/notes/new", ActorIRI: copyBo, Content: "new", Published: tx.Now()}); err != nil { // motion_replies
			return err
		}
		if err := tx.CreateClass(&coopfed.MemberClass{CoopID: c.ID, Name: "newclass"}); err != nil { // member_classes
			return err
		}
		if err := tx.AddFederation(c.ID, copyBo); err != nil { // coop_federations
			return err
		}
		if err := tx.AddTask(&coopfed.Task{MotionID: mot.ID, Title: "new", OwnerID: m.ID, DueAt: tx.Now()}); err != nil { // motion_tasks
			return err
		}
		disc := &coopfed.Motion{IRI: copyHere + "/motions/new-discussion", CoopID: c.ID, Title: "new", Text: "new", Kind: coopfed.MotionConsent,
			Options: coopfed.ConsentOptions, Threshold: 0.5, OpensAt: tx.Now().Add(time.Hour), ClosesAt: tx.Now().Add(2 * time.Hour), Discussed: true}
		if err := tx.CreateMotion(disc); err != nil {
			return err
		}
		if err := tx.AmendMotion(disc, &coopfed.Amendment{Text: "newer"}, m.ID); err != nil { // motion_amendments
			return err
		}
		tr := &coopfed.Trade{IRI: copyHere + "/offers/new", ListingIRI: l.IRI, ListingKind: l.Kind, ListingTitle: l.Title, ProposerIRI: copyMill,
			OwnerIRI: l.ActorIRI, OwnerCoopID: c.ID, Quantity: coopfed.Quantity{Value: 1, Unit: "one"}, State: coopfed.TradeProposed}
		if err := tx.InsertTrade(tr); err != nil { // trades
			return err
		}
		if err := tx.InsertLedgerEntry(tr.ID, coopfed.LedgerEntry{CoopID: c.ID, Counterpart: copyMill, Direction: "gave", Date: tx.Now()}); err != nil { // ledger_entries
			return err
		}
		if err := tx.InsertReview(&coopfed.Review{IRI: copyHere + "/notes/review/new", TradeID: tr.ID, AuthorIRI: copyMill,
			SubjectIRI: l.ActorIRI, Rating: 3}); err != nil { // reviews
			return err
		}
		r := &coopfed.BudgetRound{IRI: copyHere + "/budgets/new", CoopID: c.ID, OwnerIRI: copyHere + "/coops/newcomer", Title: "New fund", Pot: 100,
			Currency: "EUR", Decimals: 2, Model: coopfed.BudgetAllocate, Allocators: 1, Share: 100, ClosesAt: tx.Now().Add(time.Hour), State: coopfed.RoundOpen}
		if err := tx.InsertRound(r); err != nil { // budget_rounds
			return err
		}
		bk := &coopfed.Bucket{IRI: copyHere + "/buckets/new", RoundID: r.ID, AuthorIRI: r.OwnerIRI, Title: "New", Asked: 100}
		if err := tx.InsertBucket(bk); err != nil { // budget_buckets
			return err
		}
		if _, err := tx.Allocate(&coopfed.Allocation{RoundID: r.ID, BucketID: bk.ID, AllocatorIRI: r.OwnerIRI + "/members/dee", CoopIRI: r.OwnerIRI, Amount: 100}, 100, 1); err != nil { // budget_allocations, budget_allocators
			return err
		}
		if err := tx.InsertSpend(&coopfed.Spend{RoundID: r.ID, BucketID: bk.ID, Amount: 100}); err != nil { // budget_spends
			return err
		}
		p := &coopfed.Project{CoopID: c.ID, IRI: copyHere + "/projects/new", Title: "New", Currency: "EUR", Digits: 2, Unit: 1}
		if err := tx.InsertProject(p); err != nil { // projects
			return err
		}
		if _, err := tx.PutPledge(&coopfed.Pledge{ProjectIRI: p.IRI, Pledger: copyMill, Cap: 5}); err != nil { // pledges
			return err
		}
		if err := tx.OpenDispute(&coopfed.Dispute{IRI: copyHere + "/notes/dispute/new", TradeID: tr.ID, OpenerIRI: copyMill, Reason: "late"}); err != nil { // disputes
			return err
		}
		g, err := tx.GroupByName("newgroup")
		if err != nil {
			return err
		}
		if err := tx.PutGroupPost(&coopfed.GroupPost{GroupID: g.ID, ObjectIRI: l.IRI, ActorIRI: l.ActorIRI, AnnounceIRI: copyHere + "/activities/announce/new",
			Kind: l.Kind, Category: l.Category, Title: l.Title, State: coopfed.PostOpen}); err != nil { // group_posts
			return err
		}
		return tx.AddReport(&coopfed.Report{CoopID: c.ID, Origin: coopfed.ReportLocal, ReporterMember: "dee", TargetActor: copyMill, Comment: "new"}) // reports
	})
}

// CopyTo refuses a destination it must not write, and then leaves it,
// and the source, exactly as they were.
func TestCopyToRefuses(t *testing.T) {
	ctx := context.Background()
	f := newCopyFixture(t, newTestClock())
	v, err := f.s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// setup returns the source and destination; what it changes in
		// them happens before the digests are taken.
		setup func(t *testing.T) (src, dst *Store)
		want  string
	}{
		{"destination not empty", func(t *testing.T) (*Store, *Store) {
			dst := openCopyDestination(t, f.clock)
			createTestCoop(t, dst, "bakery")
			return f.s, dst
		}, "the destination is not empty (coops has 1 rows)"},
		{"destination holds only a setting", func(t *testing.T) (*Store, *Store) {
			// As a serve that stopped before creating its first coop
			// leaves a database (coopfed serve --coop "Bad Name"): the
			// instance key, nothing else. The source has no row of that
			// key, so no unique key stops the copy.
			dst := openCopyDestination(t, f.clock)
			mustUpdate(t, dst, func(tx *Tx) error { return tx.PutSetting("instance_actor_private_key_2", "another key") })
			return f.s, dst
		}, "the destination is not empty (settings has 1 rows)"},
		{"destination holds the same setting", func(t *testing.T) (*Store, *Store) {
			dst := openCopyDestination(t, f.clock)
			mustUpdate(t, dst, func(tx *Tx) error { return tx.PutSetting("instance_actor_private_key", "another key") })
			return f.s, dst
		}, "the destination is not empty (settings has 1 rows)"},
		{"destination not PostgreSQL", func(t *testing.T) (*Store, *Store) {
			// Skips with the rest where no PostgreSQL is configured.
			pgtest.NewDatabase(t)
			return f.s, openTestStoreAt(t, filepath.Join(t.TempDir(), "other.db"), f.clock)
		}, "the source must be a SQLite database and the destination a PostgreSQL one"},
		{"source not SQLite", func(t *testing.T) (*Store, *Store) {
			src := openCopyDestination(t, f.clock)
			createTestCoop(t, src, "bakery")
			return src, openCopyDestination(t, f.clock)
		}, "the source must be a SQLite database and the destination a PostgreSQL one"},
		{"source schema newer", func(t *testing.T) (*Store, *Store) {
			// A source one migration ahead of this binary: a small one of
			// its own, so the fixture stays as it is for the other rows.
			src := openTestStoreAt(t, filepath.Join(t.TempDir(), "newer.db"), f.clock)
			createTestCoop(t, src, "bakery")
			bumpSchema(t, src)
			return src, openCopyDestination(t, f.clock)
		}, fmt.Sprintf("source schema version %d, destination %d", v+1, v)},
		{"destination schema newer", func(t *testing.T) (*Store, *Store) {
			dst := openCopyDestination(t, f.clock)
			bumpSchema(t, dst)
			return f.s, dst
		}, fmt.Sprintf("source schema version %d, destination %d", v, v+1)},
		{"destination lacks a table", func(t *testing.T) (*Store, *Store) {
			dst := openCopyDestination(t, f.clock)
			if _, err := dst.write.Exec(`DROP TABLE reports`); err != nil {
				t.Fatal(err)
			}
			return f.s, dst
		}, "the destination has no table reports"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := tc.setup(t)
			srcBefore, dstBefore := mustDigests(t, src), mustDigests(t, dst)
			rep, err := src.CopyTo(ctx, dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CopyTo: %v; want an error containing %q", err, tc.want)
			}
			if rep != nil {
				t.Errorf("a refused copy reported %d tables", len(rep.Tables))
			}
			if after := mustDigests(t, dst); !reflect.DeepEqual(after, dstBefore) {
				t.Errorf("a refused copy changed the destination: tables %v", changedDigests(dstBefore, after))
			}
			if after := mustDigests(t, src); !reflect.DeepEqual(after, srcBefore) {
				t.Errorf("a refused copy changed the source: tables %v", changedDigests(srcBefore, after))
			}
		})
	}
}

// bumpSchema records one migration more than the binary has, as a newer
// coopfed would have left it: only schema_migrations changes.
func bumpSchema(t *testing.T, s *Store) {
	t.Helper()
	v, err := s.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, v+1, fmt.Sprintf("%04d_future.sql", v+1), s.now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
}

func changedDigests(before, after map[string]TableDigest) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if before[k] != after[k] {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k+" (gone)")
		}
	}
	return out
}
