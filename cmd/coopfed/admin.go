package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

// backupCmd copies a live database with SQLite's online backup API.
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	db := fs.string("db", "coopfed.db", "SQLite database file to back up (PostgreSQL: use pg_dump)")
	out := fs.String("out", "", "file to write the backup to (must not exist)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"usage: coopfed backup --db PATH --out FILE"}
	}
	if store.IsPostgres(*db) {
		// Why: PostgreSQL's own tools take a consistent copy of a live
		// database, with or without coopfed running; a second way here
		// would only be a weaker one.
		return fmt.Errorf("backup: %s is a PostgreSQL database: back it up with pg_dump, e.g.\n  pg_dump --format=custom --file=coopfed.dump '%s'\nand restore with pg_restore --clean --dbname=URL coopfed.dump (docs/OPERATIONS.md)", redactDSN(*db), redactDSN(*db))
	}
	pages, err := store.Backup(ctx, *db, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Backed up %s to %s (%d pages).\n", *db, *out, pages)
	return nil
}

// exportFile is the JSON written by `coopfed export`.
type exportFile struct {
	Format        string               `json:"format"`
	ExportedAt    time.Time            `json:"exported_at"`
	Coop          exportCoop           `json:"coop"`
	Followers     []exportFollow       `json:"followers"`
	Following     []exportFollow       `json:"following"`
	Announcements []exportAnnouncement `json:"announcements"`
	// Listings, members and motions are the domain values as stored, their
	// field names as in the coopfed package.
	Listings []*coopfed.Listing `json:"listings"`
	Members  []*coopfed.Member  `json:"members"`
	Motions  []exportMotion     `json:"motions"`
}

type exportMotion struct {
	*coopfed.Motion
	Tally coopfed.Result `json:"tally"`
}

type exportCoop struct {
	Name          string    `json:"name"`
	DisplayName   string    `json:"display_name"`
	Summary       string    `json:"summary"`
	Locked        bool      `json:"locked"`
	CreatedAt     time.Time `json:"created_at"`
	PublicKeyPEM  string    `json:"public_key_pem"`
	PrivateKeyPEM string    `json:"private_key_pem,omitempty"`
}

type exportFollow struct {
	Actor     string    `json:"actor"`
	Handle    string    `json:"handle,omitempty"`
	State     string    `json:"state"`
	FollowID  string    `json:"follow_id"`
	CreatedAt time.Time `json:"created_at"`
}

type exportAnnouncement struct {
	ID        string          `json:"id"`
	Content   string          `json:"content"`
	Published time.Time       `json:"published"`
	Deleted   *time.Time      `json:"deleted,omitempty"`
	Object    json.RawMessage `json:"object,omitempty"`
}

// exportCmd writes a coop's data as JSON.
func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	db := fs.string("db", "coopfed.db", "SQLite database file, or a postgres:// URL")
	name := fs.String("coop", "", "the coop to export")
	withKey := fs.Bool("include-private-key", false, "include the coop's private key (to move the coop to another server; keep the file secret)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *name == "" {
		return usageError{"usage: coopfed export --coop NAME [--db PATH] [--include-private-key]"}
	}
	st, err := store.Open(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.CoopByName(ctx, *name)
	if err != nil {
		return describe(err)
	}
	out := exportFile{Format: "coopfed-export/1", ExportedAt: time.Now().UTC(), Coop: exportCoop{
		Name: c.Name, DisplayName: c.DisplayName, Summary: c.Summary, Locked: c.Locked, CreatedAt: c.CreatedAt, PublicKeyPEM: c.PublicKeyPEM,
	}}
	if *withKey {
		out.Coop.PrivateKeyPEM = c.PrivateKeyPEM
	}
	if out.Followers, err = exportFollows(ctx, st, c, true); err != nil {
		return err
	}
	if out.Following, err = exportFollows(ctx, st, c, false); err != nil {
		return err
	}
	out.Announcements = []exportAnnouncement{}
	for before := int64(0); ; {
		objs, err := st.Objects(ctx, store.ObjectFilter{CoopID: c.ID, Type: "Note", Deleted: true, Limit: 200, Before: before})
		if err != nil {
			return err
		}
		for _, o := range objs {
			a := exportAnnouncement{ID: o.IRI, Content: o.Content, Published: o.Published, Deleted: o.DeletedAt}
			if o.DeletedAt == nil {
				a.Object = o.JSON
			}
			out.Announcements = append(out.Announcements, a)
		}
		if len(objs) < 200 {
			break
		}
		before = objs[len(objs)-1].ID
	}
	if out.Listings, err = exportListings(ctx, st, c); err != nil {
		return err
	}
	if out.Members, err = st.Members(ctx, c.ID); err != nil {
		return err
	}
	if out.Members == nil {
		out.Members = []*coopfed.Member{}
	}
	motions, err := st.Motions(ctx, c.ID, 1<<30)
	if err != nil {
		return err
	}
	out.Motions = []exportMotion{}
	for _, m := range motions {
		ballots, err := st.Ballots(ctx, m.ID)
		if err != nil {
			return err
		}
		out.Motions = append(out.Motions, exportMotion{Motion: m, Tally: coopfed.Tally(m, m.Eligible, ballots)})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func exportFollows(ctx context.Context, st *store.Store, c *coopfed.Coop, followers bool) ([]exportFollow, error) {
	out := []exportFollow{}
	for offset := 0; ; offset += 500 {
		f := store.FollowFilter{CoopID: c.ID, Offset: offset, Limit: 500}
		var page []exportFollow
		if followers {
			list, err := st.Followers(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, x := range list {
				page = append(page, exportFollow{Actor: x.ActorIRI, Handle: handleOf(x.Actor), State: x.State, FollowID: x.FollowIRI, CreatedAt: x.CreatedAt})
			}
		} else {
			list, err := st.Followings(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, x := range list {
				page = append(page, exportFollow{Actor: x.ActorIRI, Handle: handleOf(x.Actor), State: x.State, FollowID: x.FollowIRI, CreatedAt: x.CreatedAt})
			}
		}
		out = append(out, page...)
		if len(page) < 500 {
			return out, nil
		}
	}
}

func handleOf(a *coopfed.RemoteActor) string {
	if a == nil || a.PreferredUsername == "" {
		return ""
	}
	return a.Handle()
}

// healthcheckCmd asks the local server for /healthz, for container health
// checks in images that have no curl.
func healthcheckCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", stderr)
	addr := fs.string("addr", "127.0.0.1:8080", "address the server listens on")
	if err := fs.parse(args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return usageError{"--addr must be host:port"}
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1" // a wildcard listener answers on loopback
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

func exportListings(ctx context.Context, st *store.Store, c *coopfed.Coop) ([]*coopfed.Listing, error) {
	out := []*coopfed.Listing{}
	for offset := 0; ; offset += 500 {
		page, err := st.CoopListings(ctx, c.ID, "", 500, offset)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 500 {
			return out, nil
		}
	}
}

// blockCmd blocks (or, with unblock, lifts a block on) a domain or an
// actor for the whole instance. A running server applies it within
// seconds.
func blockCmd(ctx context.Context, args []string, stdout, stderr io.Writer, unblock bool) error {
	name := "block"
	if unblock {
		name = "unblock"
	}
	fs := newFlagSet(name, stderr)
	db := fs.string("db", "coopfed.db", "SQLite database file, or a postgres:// URL")
	domain := fs.String("domain", "", "a domain (its subdomains are blocked too)")
	actor := fs.String("actor", "", "an actor IRI")
	reason := fs.String("reason", "", "why (kept with the block)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if (*domain == "") == (*actor == "") {
		return usageError{"usage: coopfed " + name + " --domain DOMAIN | --actor IRI [--reason TEXT] [--db PATH]"}
	}
	if *actor != "" && !strings.HasPrefix(*actor, "https://") && !strings.HasPrefix(*actor, "http://") {
		return usageError{"--actor must be an actor IRI (https://...)"}
	}
	if *domain != "" && strings.ContainsAny(*domain, "/@ :") {
		return usageError{"--domain must be a bare domain such as spam.example"}
	}
	st, err := store.Open(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	err = st.Update(ctx, func(tx *store.Tx) error {
		switch {
		case *domain != "" && unblock:
			return tx.UnblockDomain(*domain)
		case *domain != "":
			return tx.BlockDomain(*domain, *reason)
		case unblock:
			return tx.UnblockActor(*actor)
		default:
			return tx.BlockActor(*actor, *reason)
		}
	})
	if err != nil {
		return err
	}
	target := *domain + *actor
	if unblock {
		fmt.Fprintf(stdout, "Unblocked %s.\n", target)
	} else {
		fmt.Fprintf(stdout, "Blocked %s.\n", target)
	}
	return nil
}
