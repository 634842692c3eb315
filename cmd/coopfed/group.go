package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
)

const groupUsage = `usage:
  coopfed group create NAME --coop OWNER [--display-name TEXT] [--topic TEXT] [--region TEXT] [--approve] [--moderator IRI,...] [--db PATH]
  coopfed group list [--db PATH]
  coopfed group members NAME [--db PATH]
  coopfed group update NAME --url URL [--display-name TEXT] [--topic TEXT] [--region TEXT] [--membership open|approved] [--moderator IRI,...] [--db PATH]
  coopfed group ban NAME --actor IRI --url URL [--reason TEXT] [--db PATH]
  coopfed group unban NAME --actor IRI [--db PATH]
  coopfed group remove NAME --object IRI --url URL [--reason TEXT] [--db PATH]

update, ban and remove send activities to the group's members: --url is the
server's public base URL (as given to serve); the running server delivers
them.`

// groupCmd runs and moderates the instance's market groups, the same
// operations as the groups API.
func groupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{groupUsage}
	}
	verb, rest := args[0], args[1:]
	name := ""
	switch verb {
	case "list":
	case "create", "members", "update", "ban", "unban", "remove":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return usageError{groupUsage}
		}
		name, rest = rest[0], rest[1:]
	default:
		return usageError{fmt.Sprintf("unknown group command %q\n%s", verb, groupUsage)}
	}
	fs := newFlagSet("group "+verb, stderr)
	db := fs.string("db", "coopfed.db", "SQLite database file, or a postgres:// URL")
	base := fs.string("url", "", "public base URL of the server (update, ban, remove)")
	owner := fs.String("coop", "", "the coop that runs the group (create)")
	display := fs.String("display-name", "", "name shown")
	topic := fs.String("topic", "", "what the group is about")
	region := fs.String("region", "", "where it trades")
	approve := fs.Bool("approve", false, "moderators approve each member (create)")
	membership := fs.String("membership", "", "open or approved (update)")
	mods := fs.String("moderator", "", "comma-separated actor IRIs of further moderators")
	actor := fs.String("actor", "", "the account (ban, unban)")
	object := fs.String("object", "", "the listing to take out (remove)")
	reason := fs.String("reason", "", "why (ban, remove)")
	if err := fs.parse(rest); err != nil {
		return err
	}
	st, err := store.Open(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	switch verb {
	case "create":
		if *owner == "" {
			return usageError{"--coop is required: the coop that runs the group"}
		}
		c, err := st.CoopByName(ctx, *owner)
		if err != nil {
			return describe(err)
		}
		// Creating sends nothing: the base URL only names the owner among
		// the moderators, so any will do when none is given.
		u := *base
		if u == "" {
			u = "http://localhost"
		}
		f, err := federation.New(ctx, federation.Config{BaseURL: u, Store: st, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		g := &coopfed.Group{Coop: coopfed.Coop{Name: name, DisplayName: *display, Summary: *topic, Region: *region, Locked: *approve}, Moderators: splitList(*mods)}
		if err := f.CreateGroup(ctx, c, g); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Created group %s, run by %s (%s membership).\n", g.Name, c.Name, g.Membership())
		return nil
	case "list":
		groups, err := st.Groups(ctx, 0)
		if err != nil {
			return err
		}
		for _, g := range groups {
			owner, err := st.CoopByID(ctx, g.OwnerID)
			if err != nil {
				return err
			}
			members, err := st.CountFollowers(ctx, g.ID, coopfed.FollowAccepted)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\t%s\trun by %s\t%s\t%d members\t%s\n", g.Name, g.Title(), owner.Name, g.Membership(), members, g.Region)
		}
		return nil
	}
	g, err := st.GroupByName(ctx, name)
	if err != nil {
		return describe(err)
	}
	switch verb {
	case "members":
		list, err := st.Followers(ctx, store.FollowFilter{CoopID: g.ID, Limit: 1000})
		if err != nil {
			return err
		}
		for _, m := range list {
			fmt.Fprintf(stdout, "%s\t%s\n", m.ActorIRI, m.State)
		}
		return nil
	case "unban":
		if *actor == "" {
			return usageError{"--actor is required"}
		}
		if err := st.Update(ctx, func(tx *store.Tx) error { return tx.UnbanFromGroup(g.ID, *actor) }); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Lifted the ban of %s from %s.\n", *actor, g.Name)
		return nil
	}
	if *base == "" {
		return usageError{"--url is required: the server's public base URL, as given to serve"}
	}
	f, err := federation.New(ctx, federation.Config{BaseURL: *base, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	switch verb {
	case "update":
		if *display != "" {
			g.DisplayName = *display
		}
		if *topic != "" {
			g.Summary = *topic
		}
		if *region != "" {
			g.Region = *region
		}
		switch *membership {
		case "":
		case coopfed.MembershipOpen:
			g.Locked = false
		case coopfed.MembershipApproved:
			g.Locked = true
		default:
			return usageError{"--membership is open or approved"}
		}
		if *mods != "" {
			g.Moderators = splitList(*mods)
		}
		if err := f.UpdateGroup(ctx, g); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Updated group %s; its members are told.\n", g.Name)
	case "ban":
		if *actor == "" {
			return usageError{"--actor is required"}
		}
		if err := f.BanFromGroup(ctx, g, *actor, *reason); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Banned %s from %s; its members drop what the group relayed of it.\n", *actor, g.Name)
	case "remove":
		if *object == "" {
			return usageError{"--object is required"}
		}
		if err := f.RemoveFromGroup(ctx, g, *object, *reason); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Took %s out of %s; its members drop it.\n", *object, g.Name)
	}
	return nil
}
