package coopfed

import "time"

// Follow states. A follow request is pending until accepted; a locked coop
// keeps incoming requests pending until an admin approves them.
const (
	FollowPending  = "pending"
	FollowAccepted = "accepted"
)

// Follower is a remote actor following a local coop.
type Follower struct {
	CoopID    int64
	ActorIRI  string
	FollowIRI string // id of the Follow activity, echoed in Accept/Reject
	State     string
	CreatedAt time.Time
	Actor     *RemoteActor // filled when listing
}

// Following is a remote actor a local coop follows (or asked to follow).
type Following struct {
	CoopID    int64
	ActorIRI  string
	FollowIRI string // id of our Follow activity
	State     string
	CreatedAt time.Time
	Actor     *RemoteActor
}
