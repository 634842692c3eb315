package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

const memberUsage = `usage:
  coopfed member add USERNAME --coop NAME [--role admin|member] [--actor IRI,...] [--db PATH]
  coopfed member remove USERNAME --coop NAME [--db PATH]
  coopfed member list --coop NAME [--db PATH]
  coopfed member passwd USERNAME --coop NAME [--db PATH]   (sets a new random password, printed once)`

// memberCmd adds, removes and lists a coop's members (who vote on its
// motions), the same operations as the members API.
func memberCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{memberUsage}
	}
	verb, rest := args[0], args[1:]
	username := ""
	if verb == "add" || verb == "remove" || verb == "passwd" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return usageError{memberUsage}
		}
		username, rest = rest[0], rest[1:]
	} else if verb != "list" {
		return usageError{fmt.Sprintf("unknown member command %q\n%s", verb, memberUsage)}
	}
	fs := newFlagSet("member "+verb, stderr)
	db := fs.string("db", "coopfed.db", "SQLite database file, or a postgres:// URL")
	coop := fs.String("coop", "", "the coop")
	role := fs.String("role", coopfed.RoleMember, "admin or member (add)")
	actors := fs.String("actor", "", "comma-separated fediverse actor IRIs the member votes from (add)")
	if err := fs.parse(rest); err != nil {
		return err
	}
	if *coop == "" {
		return usageError{"--coop is required"}
	}
	st, err := store.Open(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.CoopByName(ctx, *coop)
	if err != nil {
		return describe(err)
	}
	switch verb {
	case "add":
		m := &coopfed.Member{CoopID: c.ID, Username: username, Role: *role, Actors: splitList(*actors)}
		if err := st.Update(ctx, func(tx *store.Tx) error { return tx.CreateMember(m) }); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Added %s (%s) to %s.\n", m.Username, m.Role, c.Name)
	case "remove":
		if err := st.Update(ctx, func(tx *store.Tx) error { return tx.RemoveMember(c.ID, username) }); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Removed %s from %s.\n", username, c.Name)
	case "passwd":
		password := store.NewPassword()
		if err := st.Update(ctx, func(tx *store.Tx) error { return tx.SetPassword(c.ID, username, password) }); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "New password of %s in %s (shown once): %s\n", username, c.Name, password)
	case "list":
		list, err := st.Members(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, m := range list {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", m.Username, m.Role, strings.Join(m.Actors, ","))
		}
	}
	return nil
}
