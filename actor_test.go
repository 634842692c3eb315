package coopfed_test

import (
	"testing"

	"github.com/coopfed/coopfed"
)

func TestRemoteActorHandle(t *testing.T) {
	a := coopfed.RemoteActor{IRI: "https://social.example/users/alice", PreferredUsername: "alice", Host: "social.example"}
	if got := a.Handle(); got != "alice@social.example" {
		t.Errorf("Handle() = %q", got)
	}
	// Without a preferredUsername the IRI is the only name there is.
	a.PreferredUsername = ""
	if got := a.Handle(); got != a.IRI {
		t.Errorf("Handle() without a username = %q, want the IRI", got)
	}
}

func TestRemoteActorDeliveryInbox(t *testing.T) {
	a := coopfed.RemoteActor{Inbox: "https://social.example/users/alice/inbox"}
	if got := a.DeliveryInbox(); got != a.Inbox {
		t.Errorf("DeliveryInbox() = %q, want the personal inbox when no shared one is advertised", got)
	}
	a.SharedInbox = "https://social.example/inbox"
	if got := a.DeliveryInbox(); got != a.SharedInbox {
		t.Errorf("DeliveryInbox() = %q, want the shared inbox", got)
	}
}
