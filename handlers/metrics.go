package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/coopfed/coopfed/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the instance's Prometheus registry. It implements
// federation.Metrics, so the federation layer counts into it without
// importing Prometheus.
type Metrics struct {
	registry         *prometheus.Registry
	inbox            *prometheus.CounterVec
	signatureFailure *prometheus.CounterVec
	deliveries       *prometheus.CounterVec
	deliveryLatency  prometheus.Histogram
	remoteFetches    *prometheus.CounterVec
	httpRequests     *prometheus.CounterVec
	marketSearches   *prometheus.CounterVec
	marketLatency    prometheus.Histogram
	inboxCommit      prometheus.Histogram
}

// NewMetrics builds the registry with Go runtime and process collectors,
// and queue gauges read from the store at scrape time.
func NewMetrics(st *store.Store) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		inbox: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coopfed_inbox_requests_total", Help: "Inbox POSTs by result (accepted or the error code).",
		}, []string{"result"}),
		signatureFailure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coopfed_signature_failures_total", Help: "Refused HTTP signatures by reason.",
		}, []string{"reason"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coopfed_deliveries_total", Help: "Delivery attempts by outcome (ok, retry, refused, given_up).",
		}, []string{"outcome"}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "coopfed_delivery_duration_seconds", Help: "Time of one signed delivery POST.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}),
		remoteFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coopfed_remote_fetches_total", Help: "Signed GETs of remote documents by result.",
		}, []string{"result"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coopfed_http_requests_total", Help: "HTTP requests served by status class.",
		}, []string{"class"}),
		marketSearches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coopfed_market_searches_total", Help: "Market searches by where they came from (api, page) and result (ok, error).",
		}, []string{"via", "result"}),
		inboxCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "coopfed_inbox_commit_activities", Help: "Inbox activities written by one database commit (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
		marketLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "coopfed_market_search_duration_seconds", Help: "Time of one market search query.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
	}
	m.registry.MustRegister(m.inbox, m.signatureFailure, m.deliveries, m.deliveryLatency, m.remoteFetches, m.httpRequests, m.marketSearches, m.marketLatency, m.inboxCommit,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&queueCollector{store: st}, &checkpointCollector{store: st})
	return m
}

// InboxResult counts one inbox POST.
func (m *Metrics) InboxResult(result string) { m.inbox.WithLabelValues(result).Inc() }

// InboxCommit observes the size of one inbox commit.
func (m *Metrics) InboxCommit(activities int) { m.inboxCommit.Observe(float64(activities)) }

// SignatureFailure counts one refused signature.
func (m *Metrics) SignatureFailure(reason string) { m.signatureFailure.WithLabelValues(reason).Inc() }

// Delivery counts one delivery attempt and its duration.
func (m *Metrics) Delivery(outcome string, seconds float64) {
	m.deliveries.WithLabelValues(outcome).Inc()
	m.deliveryLatency.Observe(seconds)
}

// RemoteFetch counts one remote fetch.
func (m *Metrics) RemoteFetch(result string) { m.remoteFetches.WithLabelValues(result).Inc() }

func (m *Metrics) request(status int) {
	m.httpRequests.WithLabelValues(string(rune('0'+status/100)) + "xx").Inc()
}

func (m *Metrics) marketSearch(via string, err error, seconds float64) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.marketSearches.WithLabelValues(via, result).Inc()
	m.marketLatency.Observe(seconds)
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// queueCollector reports the delivery queue from the database at scrape
// time, so the gauges are right even after a restart.
type queueCollector struct{ store *store.Store }

var (
	queueDepthDesc = prometheus.NewDesc("coopfed_delivery_queue_depth", "Deliveries waiting to be sent.", nil, nil)
	queueAgeDesc   = prometheus.NewDesc("coopfed_delivery_queue_oldest_seconds", "Age of the oldest pending delivery.", nil, nil)
	queueDoneDesc  = prometheus.NewDesc("coopfed_delivery_queue_finished", "Finished delivery rows kept, by state.", []string{"state"}, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueAgeDesc
	ch <- queueDoneDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.store.DeliveryStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	age := 0.0
	if !st.OldestPending.IsZero() {
		age = time.Since(st.OldestPending).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(queueDoneDesc, prometheus.GaugeValue, float64(st.Done), "done")
	ch <- prometheus.MustNewConstMetric(queueDoneDesc, prometheus.GaugeValue, float64(st.Failed), "failed")
}

// checkpointCollector reports the SQLite store's background WAL
// checkpoints (nothing on PostgreSQL).
type checkpointCollector struct{ store *store.Store }

var (
	checkpointRunsDesc    = prometheus.NewDesc("coopfed_sqlite_checkpoints_total", "Background WAL checkpoints run.", nil, nil)
	checkpointFramesDesc  = prometheus.NewDesc("coopfed_sqlite_checkpoint_frames_total", "WAL frames (pages) copied into the database file by checkpoints.", nil, nil)
	checkpointPendingDesc = prometheus.NewDesc("coopfed_sqlite_wal_pending_frames", "WAL frames the last checkpoint could not copy yet (readers still used them).", nil, nil)
)

func (c *checkpointCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- checkpointRunsDesc
	ch <- checkpointFramesDesc
	ch <- checkpointPendingDesc
}

func (c *checkpointCollector) Collect(ch chan<- prometheus.Metric) {
	if c.store.Postgres() {
		return
	}
	st := c.store.Checkpoints()
	ch <- prometheus.MustNewConstMetric(checkpointRunsDesc, prometheus.CounterValue, float64(st.Runs))
	ch <- prometheus.MustNewConstMetric(checkpointFramesDesc, prometheus.CounterValue, float64(st.Frames))
	ch <- prometheus.MustNewConstMetric(checkpointPendingDesc, prometheus.GaugeValue, float64(st.Pending))
}
