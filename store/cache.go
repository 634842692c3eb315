package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coopfed/coopfed"
)

// blockTTL bounds how long blocks written by another process (a CLI run
// beside the server) take to apply; blocks written through this Store
// apply at once.
const blockTTL = 5 * time.Second

// cache keeps what every inbox request reads, the coops, the block lists
// and who follows whom, in memory: they are few and change rarely, and
// reading them from SQLite was a fifth of an inbox request's cost. Writes through a Tx that
// change them invalidate the cache when the transaction commits.
type cache struct {
	mu sync.RWMutex
	// gen counts invalidations. A reader notes it before querying and
	// stores what it read only if no write committed meanwhile, so a slow
	// reader cannot put back a row older than the invalidation.
	gen    uint64
	coops  map[string]coopfed.Coop // by name; only hits are kept, so a coop created elsewhere is found on first use
	blocks *blockSet
	// followsOf maps a remote actor to the coops following it (SQLite
	// only: Tx.CoopsFollowing).
	followsOf map[string][]int64
}

// maxCachedFollows bounds the follows cache: past it the cache starts over.
const maxCachedFollows = 50000

func (c *cache) follows(actorIRI string) ([]int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ids, ok := c.followsOf[actorIRI]
	return ids, ok
}

func (c *cache) putFollows(actorIRI string, ids []int64, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.followsOf == nil || len(c.followsOf) >= maxCachedFollows {
		c.followsOf = map[string][]int64{}
	}
	c.followsOf[actorIRI] = ids
}

type blockSet struct {
	domains map[string]bool
	actors  map[string]bool
	loaded  time.Time
}

func (c *cache) coop(name string) (coopfed.Coop, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.coops[name]
	return v, ok
}

func (c *cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *cache) putCoop(v coopfed.Coop, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.coops == nil {
		c.coops = map[string]coopfed.Coop{}
	}
	c.coops[v.Name] = v
}

func (c *cache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.coops, c.blocks, c.followsOf = nil, nil, nil
	c.gen++
}

// blockSet returns the block lists, loading them when absent or stale.
func (s *Store) blockSet(ctx context.Context) (*blockSet, error) {
	s.cache.mu.RLock()
	b := s.cache.blocks
	s.cache.mu.RUnlock()
	if b != nil && s.now().Sub(b.loaded) < blockTTL {
		return b, nil
	}
	gen := s.cache.generation()
	b = &blockSet{domains: map[string]bool{}, actors: map[string]bool{}, loaded: s.now()}
	for _, q := range []struct {
		sql string
		set map[string]bool
	}{{`SELECT domain FROM domain_blocks`, b.domains}, {`SELECT actor_iri FROM actor_blocks`, b.actors}} {
		rows, err := s.read.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("store: blocks: %w", err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, err
			}
			q.set[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	s.cache.mu.Lock()
	if gen == s.cache.gen {
		s.cache.blocks = b
	}
	s.cache.mu.Unlock()
	return b, nil
}
