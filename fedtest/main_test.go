package fedtest_test

import (
	"os"
	"testing"

	"github.com/coopfed/coopfed/fedtest"
	"github.com/coopfed/coopfed/store/pgtest"
)

// The federation journeys run twice: on SQLite files, then with every
// instance on a PostgreSQL schema of its own.
func TestMain(m *testing.M) { os.Exit(pgtest.RunBoth(m, &fedtest.Postgres)) }
