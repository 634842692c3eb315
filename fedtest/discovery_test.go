package fedtest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// Discovery of the shared market: a member instance lists the group it
// joined and the coops seen in it, with region, categories and counts; the
// group's host publishes the group's figures, and NodeInfo says where the
// instance's are.
func TestGroupDiscoveryAndStatistics(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "hub"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	c := fedtest.Start(t, fedtest.Options{Coop: "farm"})
	group := createGroup(t, a, "market", map[string]any{"display_name": "Northern market", "region": "Yorkshire"})
	handle := "market@" + strings.TrimPrefix(a.URL, "http://")
	if st := b.API(t, http.MethodPatch, "/api/v1/coops/bakery", map[string]any{"region": "Leeds"}, nil); st != http.StatusOK {
		t.Fatalf("region: %d", st)
	}
	join(t, b, handle, group)
	join(t, c, handle, group)
	var ids []string
	for _, l := range []map[string]any{offerOf("apples", 5), offerOf("pears", 5), {"kind": "need", "title": "jars", "category": "packaging", "quantity": map[string]any{"value": 100, "unit": "one"}}} {
		ids = append(ids, postListing(t, b, l))
	}
	fedtest.Eventually(t, 10*time.Second, "three listings at C", func() bool { return len(marketWithVia(t, c, "group="+url.QueryEscape(group))) == 3 })

	var groups struct {
		Items []struct {
			ID, Name, Kind, Region string
			Local                  bool
			Joined                 int64 `json:"joined_by_local_coops"`
			Held                   int64 `json:"listings_held"`
			Coops                  int64 `json:"coops_seen"`
		}
	}
	if st := c.API(t, http.MethodGet, "/api/v1/groups", nil, &groups); st != http.StatusOK || len(groups.Items) != 1 {
		t.Fatalf("groups at C: %d %+v", st, groups)
	}
	if g := groups.Items[0]; g.ID != group || g.Name != "Northern market" || g.Kind != "group" || g.Local || g.Region != "Yorkshire" || g.Joined != 1 || g.Held != 3 || g.Coops != 1 {
		t.Fatalf("group at C: %+v", g)
	}

	type entry struct {
		ID, Name, Region string
		Categories       []string
		Offers, Needs    int64
		Groups           []string
	}
	var dir struct{ Items []entry }
	if st := c.API(t, http.MethodGet, "/api/v1/directory", nil, &dir); st != http.StatusOK || len(dir.Items) != 1 {
		t.Fatalf("directory at C: %d %+v", st, dir)
	}
	e := dir.Items[0]
	if e.ID != b.ActorIRI() || e.Region != "Leeds" || e.Offers != 2 || e.Needs != 1 || len(e.Groups) != 1 || e.Groups[0] != group ||
		len(e.Categories) != 2 || e.Categories[0] != "produce" {
		t.Fatalf("directory entry: %+v", e)
	}
	for q, want := range map[string]int{"category=packaging": 1, "category=tools": 0, "q=leeds": 1, "q=york": 0, "group=" + url.QueryEscape(group): 1, "group=https%3A%2F%2Fnone.example%2Fg": 0} {
		var got struct{ Items []entry }
		if st := c.API(t, http.MethodGet, "/api/v1/directory?"+q, nil, &got); st != http.StatusOK || len(got.Items) != want {
			t.Fatalf("directory?%s: %d, %d entries, want %d", q, st, len(got.Items), want)
		}
	}
	// The group's host lists its members (B and C) in its directory.
	var hostDir struct{ Items []entry }
	if a.API(t, http.MethodGet, "/api/v1/directory", nil, &hostDir); len(hostDir.Items) != 2 {
		t.Fatalf("directory at A: %+v", hostDir)
	}

	var stats struct {
		Coops       int64
		ActiveCoops int64 `json:"active_coops"`
		Open        struct {
			Offers, Needs int64
			ByCategory    []struct {
				Kind, Category string
				Count          int64
			} `json:"by_category"`
		}
		Months []struct {
			Month   string
			Relayed int64 `json:"listings_relayed"`
		}
	}
	if st := fedtest.GetJSON(t, a.URL+"/api/v1/groups/market/statistics", &stats); st != http.StatusOK {
		t.Fatalf("group statistics: %d", st)
	}
	if stats.Coops != 2 || stats.ActiveCoops != 1 || stats.Open.Offers != 2 || stats.Open.Needs != 1 || stats.Months[len(stats.Months)-1].Relayed != 3 {
		t.Fatalf("group statistics: %+v", stats)
	}
	var node struct {
		Metadata struct {
			Coopfed struct {
				Statistics string
				Groups     int64
				OpenOffers int64
			}
		}
	}
	if st := fedtest.GetJSON(t, a.URL+"/nodeinfo/2.1", &node); st != http.StatusOK || node.Metadata.Coopfed.Groups != 1 || node.Metadata.Coopfed.Statistics != a.URL+"/statistics" {
		t.Fatalf("nodeinfo: %d %+v", st, node)
	}
	var bstats struct {
		Open struct{ Offers, Needs int64 }
	}
	if fedtest.GetJSON(t, b.URL+"/api/v1/statistics", &bstats); bstats.Open.Offers != 2 || bstats.Open.Needs != 1 {
		t.Fatalf("B's statistics: %+v", bstats)
	}
	for _, page := range []string{a.URL + "/statistics", a.URL + "/groups/market/statistics", c.URL + "/groups", c.URL + "/directory"} {
		resp, err := http.Get(page)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", page, resp.StatusCode)
		}
	}
}
