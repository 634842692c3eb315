package coopfed

import "time"

// RemoteActor is the cached copy of an actor hosted elsewhere, as fetched from
// its id. Keys are cached here so that inbox verification needs no fetch.
type RemoteActor struct {
	IRI               string
	Type              string // Person, Organization, Service, Application, Group
	PreferredUsername string
	Host              string
	Name              string
	Summary           string // sanitised HTML
	URL               string
	Inbox             string
	SharedInbox       string
	Outbox            string
	Followers         string
	PublicKeyID       string
	PublicKeyPEM      string
	FetchedAt         time.Time
	// Region is where a coop says it works (coopfed:region, or a profile
	// field named Region), for directories.
	Region string
	// PaymentLinks are the FEP-0ea0 links of its document that passed our
	// checks; set only where the actor is read by itself (RemoteActor).
	PaymentLinks []PaymentLink
}

// Handle returns "user@host", the form people type to find the actor.
func (a *RemoteActor) Handle() string {
	if a.PreferredUsername == "" {
		return a.IRI
	}
	return a.PreferredUsername + "@" + a.Host
}

// DeliveryInbox returns the inbox to deliver to: the shared inbox when the
// actor advertises one, so a host receives each activity once.
func (a *RemoteActor) DeliveryInbox() string {
	if a.SharedInbox != "" {
		return a.SharedInbox
	}
	return a.Inbox
}
