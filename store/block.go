package store

import (
	"context"
	"fmt"
	"time"
)

// Block is a blocked domain or actor with why and since when.
type Block struct {
	Target  string // the domain, or the actor's IRI
	Reason  string
	Created time.Time
}

// DomainBlockList lists the blocked domains with their reasons, by domain.
func (s *Store) DomainBlockList(ctx context.Context) ([]Block, error) {
	return s.blocks(ctx, `SELECT domain, reason, created_at FROM domain_blocks ORDER BY domain`)
}

// ActorBlocks lists the blocked actors with their reasons, by IRI.
func (s *Store) ActorBlocks(ctx context.Context) ([]Block, error) {
	return s.blocks(ctx, `SELECT actor_iri, reason, created_at FROM actor_blocks ORDER BY actor_iri`)
}

func (s *Store) blocks(ctx context.Context, query string) ([]Block, error) {
	rows, err := s.read.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: blocks: %w", err)
	}
	defer rows.Close()
	var out []Block
	for rows.Next() {
		var b Block
		var created int64
		if err := rows.Scan(&b.Target, &b.Reason, &created); err != nil {
			return nil, err
		}
		b.Created = fromMS(created)
		out = append(out, b)
	}
	return out, rows.Err()
}
