package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/coopfed/coopfed/store"
)

// runOK runs the command in-process and fails the test on an error.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("coopfed %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

func TestCoopTokenExportBackup(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "coopfed.db")
	runOK(t, "coop", "create", "bakery", "--db", db, "--display-name", "The Bakery")
	runOK(t, "coop", "create", "farm", "--db", db)
	token := strings.TrimSpace(runOK(t, "token", "create", "--coop", "bakery", "--db", db))
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.CoopByToken(context.Background(), token)
	st.Close()
	if err != nil || c.Name != "bakery" {
		t.Fatalf("token does not grant the bakery: %v %v", c, err)
	}

	var exp exportFile
	if err := json.Unmarshal([]byte(runOK(t, "export", "--coop", "bakery", "--db", db)), &exp); err != nil {
		t.Fatal(err)
	}
	if exp.Coop.Name != "bakery" || exp.Coop.DisplayName != "The Bakery" || exp.Coop.PublicKeyPEM == "" {
		t.Fatalf("export: %+v", exp.Coop)
	}
	if exp.Coop.PrivateKeyPEM != "" {
		t.Fatal("export wrote the private key without --include-private-key")
	}
	if exp.Followers == nil || exp.Following == nil || exp.Announcements == nil || exp.Listings == nil || exp.Members == nil || exp.Motions == nil {
		t.Fatal("export lists must be present (empty) rather than null")
	}
	if err := json.Unmarshal([]byte(runOK(t, "export", "--coop", "bakery", "--db", db, "--include-private-key")), &exp); err != nil || !strings.Contains(exp.Coop.PrivateKeyPEM, "PRIVATE KEY") {
		t.Fatalf("export --include-private-key: %v", err)
	}

	backup := filepath.Join(dir, "backup.db")
	runOK(t, "backup", "--db", db, "--out", backup)
	b, err := store.Open(backup)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if coops, err := b.Coops(context.Background()); err != nil || len(coops) != 2 {
		t.Fatalf("backup holds %d coops (%v), want 2", len(coops), err)
	}
	if err := run(context.Background(), []string{"backup", "--db", db, "--out", backup}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("a second backup to the same file must fail, not overwrite")
	}
}

// serveFlags returns the flag names `coopfed serve -h` documents.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"serve", "-h"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z-]+)`).FindAllStringSubmatch(out.String(), -1) {
		flags[m[1]] = true
	}
	if len(flags) < 5 {
		t.Fatalf("could not read serve's flags from:\n%s", out.String())
	}
	return flags
}

// The compose files and the Dockerfile must only use flags and COOPFED_*
// variables the binary knows, and only subcommands it has: a renamed flag
// would otherwise break `docker compose up` silently.
func TestContainerFilesMatchFlags(t *testing.T) {
	flags := serveFlags(t)
	known := func(name string) bool { return flags[name] }
	envToFlag := func(env string) string {
		return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "COOPFED_")), "_", "-")
	}
	for _, file := range []string{"../../docker-compose.yml", "../../docker-compose.postgres.yml", "../../Dockerfile"} {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(body)
		// Why: YAML refuses tabs in indentation, and compose then refuses
		// the whole file.
		if strings.HasSuffix(file, ".yml") && strings.Contains(text, "\t") {
			t.Errorf("%s contains a tab", file)
		}
		for _, m := range regexp.MustCompile(`--([a-z][a-z-]*)`).FindAllStringSubmatch(text, -1) {
			if file == "../../Dockerfile" {
				continue // the Dockerfile's -- flags belong to go build and apt-get
			}
			if !known(m[1]) {
				t.Errorf("%s uses --%s, which coopfed serve does not have", file, m[1])
			}
		}
		for _, m := range regexp.MustCompile(`COOPFED_[A-Z_]+`).FindAllString(text, -1) {
			if !known(envToFlag(m)) {
				t.Errorf("%s sets %s, which matches no flag of coopfed serve", file, m)
			}
		}
	}
	checkPostgresCompose(t)
	docker, _ := os.ReadFile("../../Dockerfile")
	for _, sub := range []string{`CMD ["serve"]`, `"healthcheck"`} {
		if !strings.Contains(string(docker), sub) {
			t.Errorf("Dockerfile lacks %s", sub)
		}
	}
	var out bytes.Buffer
	run(context.Background(), []string{"help"}, &out, &out)
	for _, sub := range []string{"serve", "healthcheck"} {
		if !strings.Contains(out.String(), "coopfed "+sub) {
			t.Errorf("coopfed has no %s subcommand, which the Dockerfile uses", sub)
		}
	}
}

// checkPostgresCompose reads docker-compose.postgres.yml's structure by
// indentation (top-level keys, services, and each service's keys and
// environment) and checks what running several processes on one database
// needs: every coopfed process on the same postgres:// database, with the
// same public URL and first coop, waiting for a healthy PostgreSQL of a
// pinned major version that keeps its data in a named volume, and a proxy
// whose config spreads requests over all of them.
func checkPostgresCompose(t *testing.T) {
	t.Helper()
	body, err := os.ReadFile("../../docker-compose.postgres.yml")
	if err != nil {
		t.Fatal(err)
	}
	// anchors holds the top-level mappings marked &name (x-… extension
	// fields); a service written as "svc: *name" has that mapping's keys.
	top := map[string][]string{}
	anchors := map[string][]string{}
	var cur, anchor string
	for _, line := range strings.Split(string(body), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] != ' ' {
			var v string
			cur, v, _ = strings.Cut(trimmed, ":")
			anchor = strings.TrimPrefix(strings.TrimSpace(v), "&")
			top[cur] = nil
			continue
		}
		top[cur] = append(top[cur], line)
		if anchor != "" {
			anchors[anchor] = append(anchors[anchor], line)
		}
	}
	for _, k := range []string{"services", "volumes"} {
		if _, ok := top[k]; !ok {
			t.Fatalf("docker-compose.postgres.yml has no top-level %s", k)
		}
	}
	// children splits the lines indented under a key into its sub-keys
	// at the given indentation, each with the lines under it.
	children := func(lines []string, indent int) map[string][]string {
		out := map[string][]string{}
		var key string
		for _, l := range lines {
			n := len(l) - len(strings.TrimLeft(l, " "))
			if n == indent {
				key, _, _ = strings.Cut(strings.TrimSpace(l), ":")
				out[key] = nil
				if _, v, _ := strings.Cut(strings.TrimSpace(l), ": "); strings.HasPrefix(v, "*") {
					for _, al := range anchors[strings.TrimPrefix(v, "*")] {
						out[key] = append(out[key], "  "+al)
					}
				}
				continue
			}
			if n > indent && key != "" {
				out[key] = append(out[key], l)
			}
		}
		return out
	}
	services := children(top["services"], 2)
	env := func(svc string) map[string]string {
		out := map[string]string{}
		for _, l := range children(services[svc], 4)["environment"] {
			k, v, ok := strings.Cut(strings.TrimSpace(l), ": ")
			if ok {
				out[k] = v
			}
		}
		return out
	}
	has := func(svc, sub string) bool { return strings.Contains(strings.Join(services[svc], "\n"), sub) }
	var coopfeds []string
	for name := range services {
		if env(name)["COOPFED_DB"] != "" {
			coopfeds = append(coopfeds, name)
		}
	}
	slices.Sort(coopfeds)
	if len(coopfeds) < 2 {
		t.Fatalf("docker-compose.postgres.yml runs %d coopfed processes, want at least 2", len(coopfeds))
	}
	first := env(coopfeds[0])
	for _, name := range coopfeds {
		e := env(name)
		if !strings.HasPrefix(e["COOPFED_DB"], "postgres://") || !strings.Contains(e["COOPFED_DB"], "@postgres:") {
			t.Errorf("%s: COOPFED_DB %q is not the postgres service", name, e["COOPFED_DB"])
		}
		// Why: the URL is in every IRI, and the first coop's name decides
		// which coop the race to create it makes.
		for _, k := range []string{"COOPFED_DB", "COOPFED_URL", "COOPFED_COOP"} {
			if e[k] == "" || e[k] != first[k] {
				t.Errorf("%s: %s is %q, %s has %q: every process needs the same", name, k, e[k], coopfeds[0], first[k])
			}
		}
		if !has(name, "condition: service_healthy") {
			t.Errorf("%s does not wait for a healthy postgres", name)
		}
	}
	if !regexp.MustCompile(`(?m)^    image: postgres:\d+$`).MatchString(strings.Join(services["postgres"], "\n")) {
		t.Error("postgres service has no image postgres:MAJOR")
	}
	if !has("postgres", "healthcheck:") || !has("postgres", "pg_isready") {
		t.Error("postgres service has no pg_isready healthcheck")
	}
	vol := regexp.MustCompile(`- ([a-z-]+):/var/lib/postgresql/data`).FindStringSubmatch(strings.Join(services["postgres"], "\n"))
	if vol == nil || !strings.Contains(strings.Join(top["volumes"], "\n"), "  "+vol[1]+":") {
		t.Errorf("postgres data is not in a named volume declared under volumes: %v", vol)
	}
	m := regexp.MustCompile(`- \./(deploy/[A-Za-z.]+):/etc/caddy/Caddyfile`).FindStringSubmatch(strings.Join(services["proxy"], "\n"))
	if m == nil {
		t.Fatal("proxy service mounts no Caddyfile from deploy/")
	}
	caddy, err := os.ReadFile("../../" + m[1])
	if err != nil {
		t.Fatal(err)
	}
	upstreams := regexp.MustCompile(`(?m)^\s*reverse_proxy ([^{]+)\{`).FindSubmatch(caddy)
	if upstreams == nil {
		t.Fatalf("%s has no reverse_proxy block", m[1])
	}
	for _, name := range coopfeds {
		if !strings.Contains(string(upstreams[1]), name+":8080") {
			t.Errorf("%s does not send requests to %s:8080 (upstreams %q)", m[1], name, upstreams[1])
		}
	}
	if regexp.MustCompile(`header_up\s+Host`).Match(caddy) {
		t.Errorf("%s rewrites Host, which HTTP signatures cover", m[1])
	}
}

func TestBlockAndUnblock(t *testing.T) {
	db := filepath.Join(t.TempDir(), "coopfed.db")
	runOK(t, "coop", "create", "bakery", "--db", db)
	runOK(t, "block", "--domain", "spam.example", "--reason", "spam", "--db", db)
	runOK(t, "block", "--actor", "https://social.example/users/troll", "--db", db)
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if b, _ := st.DomainBlocked(ctx, "mail.spam.example"); !b {
		t.Error("subdomain of a blocked domain not blocked")
	}
	if b, _ := st.ActorBlocked(ctx, "https://social.example/users/troll"); !b {
		t.Error("actor not blocked")
	}
	st.Close()
	runOK(t, "unblock", "--domain", "spam.example", "--db", db)
	st, _ = store.Open(db)
	defer st.Close()
	if b, _ := st.DomainBlocked(ctx, "spam.example"); b {
		t.Error("unblock left the domain blocked")
	}
	for _, args := range [][]string{{"block", "--db", db}, {"block", "--domain", "a.example", "--actor", "https://x.example/u", "--db", db}, {"block", "--actor", "troll@social.example", "--db", db}} {
		if err := run(ctx, args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("coopfed %v succeeded", args)
		}
	}
}

// The group commands run a market group beside a coop: create it, list
// it, refuse bad input, ban and lift the ban; a ban queues the group's
// Remove for its members.
func TestGroupCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "coopfed.db")
	runOK(t, "coop", "create", "hub", "--db", db)
	runOK(t, "group", "create", "market", "--coop", "hub", "--topic", "Food surplus", "--region", "Yorkshire", "--approve", "--db", db)
	if out := runOK(t, "group", "list", "--db", db); !strings.Contains(out, "market\tmarket\trun by hub\tapproved\t0 members\tYorkshire") {
		t.Fatalf("group list:\n%s", out)
	}
	var out, errOut bytes.Buffer
	for _, bad := range [][]string{
		{"group", "create", "hub", "--coop", "hub", "--db", db},                  // the name is the coop's
		{"group", "create", "Bad Name", "--coop", "hub", "--db", db},             // not a handle
		{"group", "create", "other", "--db", db},                                 // no owner
		{"group", "ban", "market", "--actor", "https://x.example/u", "--db", db}, // no --url
		{"group", "frobnicate", "--db", db},
	} {
		if err := run(context.Background(), bad, &out, &errOut); err == nil {
			t.Errorf("coopfed %s succeeded", strings.Join(bad, " "))
		}
	}
	runOK(t, "group", "ban", "market", "--actor", "https://x.example/users/spam", "--reason", "spam", "--url", "https://hub.example", "--db", db)
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	g, err := st.GroupByName(context.Background(), "market")
	if err != nil {
		t.Fatal(err)
	}
	bans, err := st.GroupBans(context.Background(), g.ID)
	st.Close()
	if err != nil || len(bans) != 1 || bans[0].Reason != "spam" {
		t.Fatalf("bans %+v %v", bans, err)
	}
	runOK(t, "group", "unban", "market", "--actor", "https://x.example/users/spam", "--db", db)
}
