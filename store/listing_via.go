package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/coopfed/coopfed"
)

// A remote listing stays in the market while a local coop follows its
// author, or while it has a row in listing_groups: it reached the market
// through a group or relay one of our coops joined. These methods keep that
// rule as memberships end.

// AddListingVia records that a listing reached the market through a group
// (or relay), or was addressed to one. It reports whether the row is new.
func (tx *Tx) AddListingVia(listingID int64, groupIRI, announceIRI string) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO listing_groups (listing_id, group_iri, announce_iri, added_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (listing_id, group_iri) DO UPDATE SET announce_iri = excluded.announce_iri
		WHERE excluded.announce_iri <> '' AND listing_groups.announce_iri <> excluded.announce_iri`, listingID, groupIRI, announceIRI, ms(tx.now))
	if err != nil {
		return false, fmt.Errorf("store: listing via: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ListingGroups returns the groups a listing is in (reached through, or
// addressed to), by IRI.
func (tx *Tx) ListingGroups(listingID int64) ([]string, error) {
	return queryStrings(tx.ctx, tx.tx, `SELECT group_iri FROM listing_groups WHERE listing_id = ? ORDER BY group_iri`, listingID)
}

// ListingVias returns, for each listing id given, the groups it is in.
func (s *Store) ListingVias(ctx context.Context, ids []int64) (map[int64][]coopfed.ListingVia, error) {
	out := map[int64][]coopfed.ListingVia{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.read.QueryContext(ctx, `SELECT listing_id, group_iri, announce_iri, added_at FROM listing_groups
		WHERE listing_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY listing_id, group_iri`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing vias: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v coopfed.ListingVia
		var added int64
		if err := rows.Scan(&v.ListingID, &v.GroupIRI, &v.AnnounceIRI, &added); err != nil {
			return nil, err
		}
		v.AddedAt = fromMS(added)
		out[v.ListingID] = append(out[v.ListingID], v)
	}
	return out, rows.Err()
}

// DropListingVia forgets that a listing came through a group (a moderator
// took it out of the group) and prunes it when nothing else holds it. It
// reports whether the listing left the market.
func (tx *Tx) DropListingVia(listingIRI, groupIRI string) (bool, error) {
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM listing_groups WHERE group_iri = ?
		AND listing_id = (SELECT id FROM listings WHERE iri = ?)`, groupIRI, listingIRI); err != nil {
		return false, fmt.Errorf("store: drop listing via: %w", err)
	}
	n, err := tx.pruneListings(`l.iri = ?`, listingIRI)
	return n > 0, err
}

// DropViaByAnnounce is DropListingVia for the listing a group's Announce
// carried (a group's Undo or Delete of its Announce).
func (tx *Tx) DropViaByAnnounce(groupIRI, announceIRI string) (int64, error) {
	var listingID int64
	err := tx.tx.QueryRowContext(tx.ctx, `DELETE FROM listing_groups WHERE group_iri = ? AND announce_iri = ? RETURNING listing_id`, groupIRI, announceIRI).Scan(&listingID)
	if err != nil {
		return 0, notFound("announce", err)
	}
	return tx.pruneListings(`l.id = ?`, listingID)
}

// DropActorVias forgets every listing of an actor that came through a group
// (the actor left the group or was banned) and prunes them; it returns how
// many left the market.
func (tx *Tx) DropActorVias(groupIRI, actorIRI string) (int64, error) {
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM listing_groups WHERE group_iri = ?
		AND listing_id IN (SELECT id FROM listings WHERE actor_iri = ? AND coop_id IS NULL)`, groupIRI, actorIRI); err != nil {
		return 0, fmt.Errorf("store: drop actor vias: %w", err)
	}
	return tx.pruneListings(`l.actor_iri = ?`, actorIRI)
}

// DropGroupVias forgets everything that came through a group (our last
// coop left it) and prunes; it returns how many listings left the market.
func (tx *Tx) DropGroupVias(groupIRI string) (int64, error) {
	ids, err := queryInts(tx.ctx, tx.tx, `DELETE FROM listing_groups WHERE group_iri = ? RETURNING listing_id`, groupIRI)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, id := range ids {
		k, err := tx.pruneListings(`l.id = ?`, id)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// PruneActorListings removes the remote listings of an actor that nothing
// holds in the market any more: no local coop follows the actor and no
// group or relay brought them. It returns how many went.
func (tx *Tx) PruneActorListings(actorIRI string) (int64, error) {
	return tx.pruneListings(`l.actor_iri = ?`, actorIRI)
}

// pruneListings deletes the remote listings selected by cond that have no
// listing_groups row and whose author no local coop follows.
func (tx *Tx) pruneListings(cond string, arg any) (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM listings WHERE id IN (SELECT l.id FROM listings l WHERE `+cond+` AND l.coop_id IS NULL
		AND NOT EXISTS (SELECT 1 FROM listing_groups lg WHERE lg.listing_id = l.id)
		AND NOT EXISTS (SELECT 1 FROM following f JOIN coops c ON c.id = f.coop_id
			WHERE f.actor_iri = l.actor_iri AND f.state = 'accepted' AND c.kind = 'coop'))`, arg)
	if err != nil {
		return 0, fmt.Errorf("store: prune listings: %w", err)
	}
	return res.RowsAffected()
}

// RemoveFromMarket takes a remote listing out of the market for good: the
// row goes and its IRI is remembered, so no group or follow brings it back.
func (tx *Tx) RemoveFromMarket(iri, reason string) (bool, error) {
	if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO market_removals (iri, reason, removed_at) VALUES (?, ?, ?)
		ON CONFLICT (iri) DO NOTHING`, iri, reason, ms(tx.now)); err != nil {
		return false, fmt.Errorf("store: remove from market: %w", err)
	}
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM listings WHERE iri = ? AND coop_id IS NULL`, iri)
	if err != nil {
		return false, fmt.Errorf("store: remove from market: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemovedFromMarket reports whether a listing was taken out of the market.
func (tx *Tx) RemovedFromMarket(iri string) (bool, error) {
	var n int
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM market_removals WHERE iri = ?`, iri).Scan(&n); err != nil {
		return false, fmt.Errorf("store: market removals: %w", err)
	}
	return n > 0, nil
}

// RemovedFromMarket reports whether a listing was taken out of the market.
func (s *Store) RemovedFromMarket(ctx context.Context, iri string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM market_removals WHERE iri = ?`, iri).Scan(&n); err != nil {
		return false, fmt.Errorf("store: market removals: %w", err)
	}
	return n > 0, nil
}
