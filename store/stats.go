package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
)

// StatsMonths is how many months the figures cover.
const StatsMonths = 12

// InstanceStatistics computes the instance's open figures: its coops, how
// many published lately, their open offers and needs by category, trades
// agreed and fulfilled and motions held (with turnout) per month, and the
// quantity traded by unit.
func (s *Store) InstanceStatistics(ctx context.Context, now time.Time) (*coopfed.Statistics, error) {
	st := &coopfed.Statistics{}
	months := coopfed.LastMonths(now, StatsMonths)
	since := monthStart(months[0])
	byMonth := map[string]*coopfed.MonthFigures{}
	for _, m := range months {
		st.Months = append(st.Months, coopfed.MonthFigures{Month: m})
	}
	for i := range st.Months {
		byMonth[st.Months[i].Month] = &st.Months[i]
	}
	q := s.read
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM coops WHERE kind = 'coop'`).Scan(&st.Coops); err != nil {
		return nil, fmt.Errorf("store: statistics: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(DISTINCT a.coop_id) FROM activities a JOIN coops c ON c.id = a.coop_id
		WHERE c.kind = 'coop' AND a.published >= ?`, ms(now.AddDate(0, 0, -coopfed.ActiveDays))).Scan(&st.ActiveCoops); err != nil {
		return nil, fmt.Errorf("store: statistics: %w", err)
	}
	var err error
	if st.Open, err = categoryCounts(ctx, q, `SELECT kind, category, COUNT(*) FROM listings
		WHERE coop_id IS NOT NULL AND state = 'open' AND deleted = 0 AND (valid_until IS NULL OR valid_until > ?)
		GROUP BY kind, category`, ms(now)); err != nil {
		return nil, err
	}
	// A trade between two coops of this instance is one trade here: its
	// two ledger entries count once.
	if err := eachTime(ctx, q, `SELECT MIN(created_at) FROM ledger_entries GROUP BY trade_id HAVING MIN(created_at) >= ?`, since, func(t int64) {
		if m := byMonth[fromMS(t).Format("2006-01")]; m != nil {
			m.Agreed++
		}
	}); err != nil {
		return nil, err
	}
	if err := eachTime(ctx, q, `SELECT updated_at FROM trades WHERE state = 'fulfilled' AND updated_at >= ?
		AND (owner_coop_id IS NOT NULL OR proposer_coop_id IS NOT NULL)`, since, func(t int64) {
		if m := byMonth[fromMS(t).Format("2006-01")]; m != nil {
			m.Fulfilled++
		}
	}); err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT m.closed_at, m.eligible, (SELECT COUNT(DISTINCT v.member_id) FROM votes v WHERE v.motion_id = m.id)
		FROM motions m WHERE m.state = 'closed' AND m.closed_at >= ?`, since)
	if err != nil {
		return nil, fmt.Errorf("store: statistics: %w", err)
	}
	turnout := map[string]float64{}
	for rows.Next() {
		var closed, eligible, voters int64
		if err := rows.Scan(&closed, &eligible, &voters); err != nil {
			rows.Close()
			return nil, err
		}
		key := fromMS(closed).Format("2006-01")
		if m := byMonth[key]; m != nil {
			m.Motions++
			if eligible > 0 {
				turnout[key] += float64(voters) / float64(eligible)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for k, sum := range turnout {
		byMonth[k].Turnout = sum / float64(byMonth[k].Motions)
	}
	rows, err = q.QueryContext(ctx, `SELECT quantity_unit, SUM(quantity_value), COUNT(*) FROM trades
		WHERE state IN ('accepted', 'fulfilled') AND (owner_coop_id IS NOT NULL OR proposer_coop_id IS NOT NULL)
		GROUP BY quantity_unit ORDER BY quantity_unit`)
	if err != nil {
		return nil, fmt.Errorf("store: statistics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v coopfed.UnitVolume
		if err := rows.Scan(&v.Unit, &v.Quantity, &v.Trades); err != nil {
			return nil, err
		}
		st.Volume = append(st.Volume, v)
	}
	return st, rows.Err()
}

// GroupStatistics computes a local group's open figures: its members, how
// many posted lately, its open offers and needs by category and the
// listings it relayed per month.
func (s *Store) GroupStatistics(ctx context.Context, groupID int64, now time.Time) (*coopfed.Statistics, error) {
	st := &coopfed.Statistics{}
	months := coopfed.LastMonths(now, StatsMonths)
	byMonth := map[string]*coopfed.MonthFigures{}
	for _, m := range months {
		st.Months = append(st.Months, coopfed.MonthFigures{Month: m})
	}
	for i := range st.Months {
		byMonth[st.Months[i].Month] = &st.Months[i]
	}
	q := s.read
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM followers WHERE coop_id = ? AND state = 'accepted'`, groupID).Scan(&st.Coops); err != nil {
		return nil, fmt.Errorf("store: group statistics: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(DISTINCT p.actor_iri) FROM group_posts p
		JOIN followers f ON f.coop_id = p.group_id AND f.actor_iri = p.actor_iri AND f.state = 'accepted'
		WHERE p.group_id = ? AND p.changed_at >= ?`, groupID, ms(now.AddDate(0, 0, -coopfed.ActiveDays))).Scan(&st.ActiveCoops); err != nil {
		return nil, fmt.Errorf("store: group statistics: %w", err)
	}
	var err error
	if st.Open, err = categoryCounts(ctx, q, `SELECT kind, category, COUNT(*) FROM group_posts WHERE group_id = ? AND state = 'open' GROUP BY kind, category`, groupID); err != nil {
		return nil, err
	}
	if err := eachTime(ctx, q, `SELECT created_at FROM group_posts WHERE group_id = ? AND created_at >= ?`, []any{groupID, monthStart(months[0])}, func(t int64) {
		if m := byMonth[fromMS(t).Format("2006-01")]; m != nil {
			m.Relayed++
		}
	}); err != nil {
		return nil, err
	}
	return st, nil
}

func monthStart(month string) int64 {
	t, _ := time.Parse("2006-01", month)
	return ms(t)
}

func categoryCounts(ctx context.Context, q querier, query string, args ...any) ([]coopfed.CategoryCount, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: statistics: %w", err)
	}
	defer rows.Close()
	var out []coopfed.CategoryCount
	for rows.Next() {
		var c coopfed.CategoryCount
		if err := rows.Scan(&c.Kind, &c.Category, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	coopfed.SortCategories(out)
	return out, rows.Err()
}

// eachTime calls fn with each millisecond time the query returns; args is
// one argument or a slice of them.
func eachTime(ctx context.Context, q querier, query string, args any, fn func(int64)) error {
	list, ok := args.([]any)
	if !ok {
		list = []any{args}
	}
	rows, err := q.QueryContext(ctx, query, list...)
	if err != nil {
		return fmt.Errorf("store: statistics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t sql.NullInt64
		if err := rows.Scan(&t); err != nil {
			return err
		}
		if t.Valid {
			fn(t.Int64)
		}
	}
	return rows.Err()
}

// DirectoryEntry is a coop seen in a market group: who it is, where, what
// it trades in and how much is open.
type DirectoryEntry struct {
	IRI        string
	Local      bool
	Name       string
	Handle     string
	URL        string
	Region     string
	Categories []string // most listed first
	Offers     int64
	Needs      int64
	Groups     []string // the groups it was seen in, by IRI
	MemberOf   []string // the names of this instance's groups it is a member of
}

// directoryTTL bounds how old the cached directory may be: it is computed
// over every listing that came through a group, which is too much work for
// each page view of a large market.
const directoryTTL = time.Minute

// Directory lists the coops seen in market groups, by name: the authors
// of the listings groups and relays brought into the market, and the
// members of the instance's own groups. The result is cached for a minute.
func (s *Store) Directory(ctx context.Context) ([]DirectoryEntry, error) {
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if s.dir != nil && s.now().Sub(s.dirAt) < directoryTTL {
		return s.dir, nil
	}
	entries := map[string]*DirectoryEntry{}
	get := func(iri string) *DirectoryEntry {
		e := entries[iri]
		if e == nil {
			e = &DirectoryEntry{IRI: iri}
			entries[iri] = e
		}
		return e
	}
	groupsOf := map[string]map[string]bool{}
	addGroup := func(actor, group string) {
		if groupsOf[actor] == nil {
			groupsOf[actor] = map[string]bool{}
		}
		groupsOf[actor][group] = true
	}
	// Members of our groups, remote or local.
	rows, err := s.read.QueryContext(ctx, `SELECT f.actor_iri, c.name FROM followers f JOIN coops c ON c.id = f.coop_id
		WHERE c.kind = 'group' AND f.state = 'accepted'`)
	if err != nil {
		return nil, fmt.Errorf("store: directory: %w", err)
	}
	memberOf := map[string][]string{}
	for rows.Next() {
		var actor, group string
		if err := rows.Scan(&actor, &group); err != nil {
			rows.Close()
			return nil, err
		}
		get(actor)
		memberOf[actor] = append(memberOf[actor], group)
	}
	rows.Close()
	// Authors of what groups brought, with the groups.
	rows, err = s.read.QueryContext(ctx, `SELECT DISTINCT l.actor_iri, lg.group_iri FROM listing_groups lg JOIN listings l ON l.id = lg.listing_id
		WHERE l.coop_id IS NULL AND l.deleted = 0`)
	if err != nil {
		return nil, fmt.Errorf("store: directory: %w", err)
	}
	for rows.Next() {
		var actor, group string
		if err := rows.Scan(&actor, &group); err != nil {
			rows.Close()
			return nil, err
		}
		get(actor)
		addGroup(actor, group)
	}
	rows.Close()
	// Open listings of every actor in the directory, by kind and category;
	// the most common place name stands in for a missing region.
	now := ms(s.now())
	rows, err = s.read.QueryContext(ctx, `SELECT actor_iri, kind, category, place_name, COUNT(*) FROM listings
		WHERE state = 'open' AND deleted = 0 AND (valid_until IS NULL OR valid_until > ?) GROUP BY actor_iri, kind, category, place_name`, now)
	if err != nil {
		return nil, fmt.Errorf("store: directory: %w", err)
	}
	cats := map[string]map[string]int64{}
	places := map[string]map[string]int64{}
	for rows.Next() {
		var actor, kind, category, place string
		var n int64
		if err := rows.Scan(&actor, &kind, &category, &place, &n); err != nil {
			rows.Close()
			return nil, err
		}
		e := entries[actor]
		if e == nil {
			continue
		}
		if kind == coopfed.ListingOffer {
			e.Offers += n
		} else {
			e.Needs += n
		}
		if category != "" {
			if cats[actor] == nil {
				cats[actor] = map[string]int64{}
			}
			cats[actor][category] += n
		}
		if place != "" {
			if places[actor] == nil {
				places[actor] = map[string]int64{}
			}
			places[actor][place] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]DirectoryEntry, 0, len(entries))
	for iri, e := range entries {
		if a, err := remoteActor(ctx, s.read, iri); err == nil {
			e.Name, e.Handle, e.URL, e.Region = a.Name, a.Handle(), a.URL, a.Region
			if e.Name == "" {
				e.Name = a.Handle()
			}
		} else if c, err := s.localActorByIRI(ctx, iri); err == nil {
			e.Local, e.Name, e.Region = true, c.Title(), c.Region
		}
		if e.Region == "" {
			e.Region = mostOf(places[iri])
		}
		e.Categories = ranked(cats[iri], 5)
		for g := range groupsOf[iri] {
			e.Groups = append(e.Groups, g)
		}
		sort.Strings(e.Groups)
		e.MemberOf = memberOf[iri]
		sort.Strings(e.MemberOf)
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].IRI < out[j].IRI
	})
	s.dir, s.dirAt = out, s.now()
	return out, nil
}

// localActorByIRI resolves a local coop from its actor IRI, /coops/NAME
// (the store does not know the base URL, only the path).
func (s *Store) localActorByIRI(ctx context.Context, iri string) (*coopfed.Coop, error) {
	u, err := url.Parse(iri)
	if err != nil {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "not a local account")
	}
	name, ok := strings.CutPrefix(u.Path, "/coops/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "not a local account")
	}
	return s.CoopByName(ctx, name)
}

func mostOf(m map[string]int64) string {
	best, n := "", int64(0)
	for k, v := range m {
		if v > n || (v == n && k < best) {
			best, n = k, v
		}
	}
	return best
}

func ranked(m map[string]int64, limit int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > limit {
		keys = keys[:limit]
	}
	return keys
}
