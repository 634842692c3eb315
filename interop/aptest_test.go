package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// assertion is one result line of `activitypub-testing test actor`: an
// EARL-style Assertion with the test case and its outcome.
type assertion struct {
	Type   []string
	Result struct {
		Outcome string
		Info    string
		Pointer json.RawMessage
	}
	Test struct {
		Slug, Name, UUID, URL string
	}
}

// TestActivityPubTestingSuite runs the activitypub-testing suite (npm
// activitypub-testing 0.16.1) against a coop actor and fails on every test
// it found applicable that did not pass. Each test's outcome is logged:
// passed, failed, inapplicable (the suite decided it does not apply, e.g.
// client-to-server outbox POSTs without credentials) or cantTell.
func TestActivityPubTestingSuite(t *testing.T) {
	requireNode(t)
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	// An announcement puts an item in the outbox, as a coop in use has.
	inst.API(t, "POST", "/api/v1/coops/bakery/announcements", map[string]string{"content": "Fresh bread on Friday"}, nil)

	node, err := filepath.Abs(nodeBinary)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The suite fetches the actor and the collections it names; the
	// loopback guard makes sure nothing else is reached.
	cmd := exec.CommandContext(ctx, node, "--import", "./loopback.mjs",
		"node_modules/activitypub-testing/src/cli.js", "test", "actor", inst.ActorIRI())
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	cmd.SysProcAttr = childProcAttr()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("activitypub-testing: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if strings.Contains(stderr.String(), "REFUSED ") {
		t.Errorf("activitypub-testing tried to reach non-loopback addresses:\n%s", stderr.String())
	}

	var results []assertion
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\x1e"))
		if line == "" {
			continue
		}
		var a assertion
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("activitypub-testing printed a line that is not an Assertion: %q: %v", line, err)
		}
		results = append(results, a)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatalf("activitypub-testing reported no results\nstderr:\n%s", stderr.String())
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Test.Slug < results[j].Test.Slug })

	counts := map[string]int{}
	for _, a := range results {
		counts[a.Result.Outcome]++
		line := a.Result.Outcome + "\t" + a.Test.Slug
		if a.Result.Info != "" {
			line += "\t" + a.Result.Info
		}
		if ptr := string(a.Result.Pointer); ptr != "" && ptr != "null" {
			if len(ptr) > 200 {
				ptr = ptr[:200] + "..."
			}
			line += "\tat " + ptr
		}
		t.Log(line)
		switch a.Result.Outcome {
		case "passed", "inapplicable":
		case "failed":
			t.Errorf("activitypub-testing: %s (%s) failed: %s", a.Test.Slug, a.Test.Name, a.Result.Info)
		default:
			// cantTell and anything newer: the suite could not decide, which
			// for an applicable test is no pass either.
			t.Errorf("activitypub-testing: %s (%s) gave %q: %s", a.Test.Slug, a.Test.Name, a.Result.Outcome, a.Result.Info)
		}
	}
	t.Logf("activitypub-testing outcomes: %v", counts)
	if counts["passed"] == 0 {
		t.Errorf("no activitypub-testing test passed: %v", counts)
	}
}
