package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/coopfed/coopfed"
)

func TestCreateCoopAndReadItBack(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()

	c := &coopfed.Coop{Name: "bakery", DisplayName: "The Bakery", Summary: "Bread for the town", Locked: true, PublicKeyPEM: "pub", PrivateKeyPEM: "priv"}
	mustUpdate(t, s, func(tx *Tx) error { return tx.CreateCoop(c) })
	if c.ID == 0 {
		t.Fatal("CreateCoop did not set the id")
	}
	if !c.CreatedAt.Equal(clock.Now()) {
		t.Errorf("CreatedAt = %v, want the store clock %v", c.CreatedAt, clock.Now())
	}

	byName, err := s.CoopByName(ctx, "bakery")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*byName, *c) {
		t.Errorf("CoopByName = %+v, want %+v", byName, c)
	}
	byID, err := s.CoopByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*byID, *c) {
		t.Errorf("CoopByID = %+v, want %+v", byID, c)
	}
	mustUpdate(t, s, func(tx *Tx) error {
		inTx, err := tx.CoopByName("bakery")
		if err != nil {
			return err
		}
		if inTx.ID != c.ID {
			t.Errorf("Tx.CoopByName id = %d, want %d", inTx.ID, c.ID)
		}
		return nil
	})
}

func TestCoopsListedByName(t *testing.T) {
	s := openTestStore(t, nil)
	for _, name := range []string{"zebra", "apple", "mango"} {
		createTestCoop(t, s, name)
	}
	coops, err := s.Coops(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range coops {
		names = append(names, c.Name)
	}
	if len(names) != 3 || names[0] != "apple" || names[1] != "mango" || names[2] != "zebra" {
		t.Errorf("Coops() names = %v, want [apple mango zebra]", names)
	}
}

func TestCreateCoopNameTaken(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	first := createTestCoop(t, s, "bakery")

	err := s.Update(ctx, func(tx *Tx) error {
		return tx.CreateCoop(&coopfed.Coop{Name: "bakery", DisplayName: "Impostor", PublicKeyPEM: "p", PrivateKeyPEM: "k"})
	})
	wantCode(t, err, coopfed.ECONFLICT)
	got, err := s.CoopByName(ctx, "bakery")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first.ID || got.DisplayName != "" {
		t.Errorf("the first coop was changed by a conflicting create: %+v", got)
	}
}

func TestCreateCoopValidates(t *testing.T) {
	tests := []struct {
		name  string
		coop  coopfed.Coop
		field string
	}{
		{"upper case name", coopfed.Coop{Name: "Bakery", PublicKeyPEM: "p", PrivateKeyPEM: "k"}, "name"},
		{"empty name", coopfed.Coop{PublicKeyPEM: "p", PrivateKeyPEM: "k"}, "name"},
		{"reserved name", coopfed.Coop{Name: "actor", PublicKeyPEM: "p", PrivateKeyPEM: "k"}, "name"},
		{"no key pair", coopfed.Coop{Name: "bakery"}, "key"},
		{"no private key", coopfed.Coop{Name: "bakery", PublicKeyPEM: "p"}, "key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t, nil)
			ctx := context.Background()
			c := tt.coop
			err := s.Update(ctx, func(tx *Tx) error { return tx.CreateCoop(&c) })
			wantCode(t, err, coopfed.EINVALID)
			var e *coopfed.Error
			if !errors.As(err, &e) || e.Fields[tt.field] == "" {
				t.Errorf("error %v does not name the field %q", err, tt.field)
			}
			counts, err := s.Counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if counts["coops"] != 0 {
				t.Errorf("an invalid coop was stored")
			}
		})
	}
}

func TestUpdateCoopProfile(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")

	c.DisplayName, c.Summary, c.Locked = "The Bakery", "Bread", true
	mustUpdate(t, s, func(tx *Tx) error { return tx.UpdateCoopProfile(c) })
	got, err := s.CoopByName(ctx, "bakery")
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "The Bakery" || got.Summary != "Bread" || !got.Locked {
		t.Errorf("profile not updated: %+v", got)
	}

	// The profile is validated too; the stored one is left alone.
	bad := *got
	bad.DisplayName = string(make([]byte, 101))
	err = s.Update(ctx, func(tx *Tx) error { return tx.UpdateCoopProfile(&bad) })
	wantCode(t, err, coopfed.EINVALID)
}

func TestCoopLookupsReportNotFound(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	_, err := s.CoopByName(ctx, "nobody")
	wantCode(t, err, coopfed.ENOTFOUND)
	_, err = s.CoopByID(ctx, 42)
	wantCode(t, err, coopfed.ENOTFOUND)
}

func TestTokenGrantsItsCoopAndOnlyItsHashIsStored(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "coopfed.db")
	s := openTestStoreAt(t, dbPath, nil)
	ctx := context.Background()
	bakery := createTestCoop(t, s, "bakery")
	dairy := createTestCoop(t, s, "dairy")

	var tokBakery, tokDairy string
	mustUpdate(t, s, func(tx *Tx) error {
		var err error
		if tokBakery, err = tx.CreateToken(bakery.ID, "first admin"); err != nil {
			return err
		}
		tokDairy, err = tx.CreateToken(dairy.ID, "cli")
		return err
	})
	if len(tokBakery) < 40 || tokBakery == tokDairy {
		t.Fatalf("tokens look weak or repeat: %q, %q", tokBakery, tokDairy)
	}

	for tok, want := range map[string]int64{tokBakery: bakery.ID, tokDairy: dairy.ID} {
		c, err := s.CoopByToken(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != want {
			t.Errorf("token grants coop %d, want %d", c.ID, want)
		}
	}

	// What is stored is the SHA-256 of the token, never the token.
	var hash string
	if err := s.read.QueryRow(`SELECT token_hash FROM tokens WHERE coop_id = ?`, bakery.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(tokBakery))
	if hash != hex.EncodeToString(sum[:]) {
		t.Errorf("stored %q, want the token's SHA-256", hash)
	}
	// Not in any column, nor anywhere in the database files.
	var n int
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM tokens WHERE token_hash = ? OR label = ?`, tokBakery, tokBakery).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the token itself is stored")
	}
	for _, f := range []string{dbPath, dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the WAL may have been checkpointed away
		}
		if bytes.Contains(b, []byte(tokBakery)) {
			t.Errorf("%s contains the token", f)
		}
	}
}

func TestCoopByTokenRefusesUnknownTokens(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	var tok string
	mustUpdate(t, s, func(tx *Tx) error {
		var err error
		tok, err = tx.CreateToken(c.ID, "")
		return err
	})
	sum := sha256.Sum256([]byte(tok))
	for _, bad := range []string{"", "nope", tok[:len(tok)-1], tok + "x", hex.EncodeToString(sum[:])} {
		_, err := s.CoopByToken(ctx, bad)
		wantCode(t, err, coopfed.EUNAUTHORIZED)
	}
}

func TestSettings(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	_, err := s.Setting(ctx, "instance_key")
	wantCode(t, err, coopfed.ENOTFOUND)

	mustUpdate(t, s, func(tx *Tx) error { return tx.PutSetting("instance_key", "one") })
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutSetting("instance_key", "two") })
	v, err := s.Setting(ctx, "instance_key")
	if err != nil || v != "two" {
		t.Errorf("Setting = %q, %v; want the last value put", v, err)
	}
	mustUpdate(t, s, func(tx *Tx) error {
		v, err := tx.Setting("instance_key")
		if err != nil || v != "two" {
			t.Errorf("Tx.Setting = %q, %v", v, err)
		}
		_, err = tx.Setting("missing")
		wantCode(t, err, coopfed.ENOTFOUND)
		return nil
	})
}

func TestCoopByNameReturnsACopy(t *testing.T) {
	// Coops are cached in memory; a caller changing its copy must not
	// change what the next caller reads.
	s := openTestStore(t, nil)
	ctx := context.Background()
	createTestCoop(t, s, "bakery")
	first, err := s.CoopByName(ctx, "bakery")
	if err != nil {
		t.Fatal(err)
	}
	first.DisplayName, first.Locked = "changed by a caller", true
	again, err := s.CoopByName(ctx, "bakery")
	if err != nil {
		t.Fatal(err)
	}
	if again.DisplayName != "" || again.Locked {
		t.Errorf("a caller's change reached the cache: %+v", again)
	}
}

func TestCoopChangesAreSeenThroughTheCache(t *testing.T) {
	clock := newTestClock()
	path := filepath.Join(t.TempDir(), "coopfed.db")
	server := openTestStoreAt(t, path, clock)
	ctx := context.Background()
	c := createTestCoop(t, server, "bakery")
	if _, err := server.CoopByName(ctx, "bakery"); err != nil { // now cached
		t.Fatal(err)
	}

	// A change through the same Store is read back at once.
	c.DisplayName, c.Locked = "The Bakery", true
	mustUpdate(t, server, func(tx *Tx) error { return tx.UpdateCoopProfile(c) })
	got, err := server.CoopByName(ctx, "bakery")
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "The Bakery" || !got.Locked {
		t.Errorf("cached coop not refreshed after UpdateCoopProfile: %+v", got)
	}

	// A coop created by another process (the CLI beside the server) is
	// found on first use: misses are not cached.
	if _, err := server.CoopByName(ctx, "dairy"); coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		t.Fatalf("dairy before creation: %v", err)
	}
	cli := openTestStoreAt(t, path, clock)
	createTestCoop(t, cli, "dairy")
	if _, err := server.CoopByName(ctx, "dairy"); err != nil {
		t.Errorf("coop created by another process not found: %v", err)
	}
}
