package federation

import (
	"context"
	"net/http"

	"github.com/coopfed/coopfed"
)

// MembersCollection returns a coop's members collection, the eligibility
// of its motions (FEP-9967). How many members a coop has is public; who
// they are is the members' business: the list of their fediverse accounts
// (orderedItems) is included only for a GET signed by the key of an actor
// linked to a member. totalItems counts members; members without a linked
// account vote through the coop's own interface and are not listed.
//
// A request with a signature that does not verify is refused (401), as a
// peer requiring signed fetches would; an unsigned request, or one signed
// by someone else, gets the count alone.
func (f *Federation) MembersCollection(ctx context.Context, r *http.Request, c *coopfed.Coop) (map[string]any, error) {
	total, err := f.store.CountMembers(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	doc, err := f.Collection(f.iris.CoopMembers(c.Name), total)
	if err != nil {
		return nil, err
	}
	delete(doc, "first") // the list is not paged: coops are small
	if r.Header.Get("Signature") == "" && r.Header.Get("Signature-Input") == "" {
		return doc, nil
	}
	signer, err := f.verifyFetch(ctx, r)
	if err != nil {
		return nil, err
	}
	member, err := f.store.IsMemberActor(ctx, c.ID, signer.IRI)
	if err != nil || !member {
		return doc, err
	}
	items, err := f.store.MemberActorIRIs(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	doc["orderedItems"] = items
	return doc, nil
}

// verifyFetch checks the HTTP signature of a GET and returns the actor
// whose key signed it.
func (f *Federation) verifyFetch(ctx context.Context, r *http.Request) (*coopfed.RemoteActor, error) {
	sig, err := f.checkSignature(r, nil)
	if err != nil {
		return nil, coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: %v", err)
	}
	// Why: as for inbox POSTs, a signature made for another host must not
	// be replayed here.
	if !f.isOurHost(r.Host) {
		return nil, coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: request was sent to host %q, not to this server", r.Host)
	}
	keyID := sig.keyID()
	if HostOf(keyID) == "" || f.iris.IsLocal(keyID) {
		return nil, coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: unusable keyId %q", keyID)
	}
	key, err := f.signingKey(ctx, keyID, false)
	if err != nil {
		return nil, coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: key %s: %s", keyID, coopfed.ErrorMessage(err))
	}
	if err := sig.verify(r, key.pub); err != nil {
		return nil, coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: %v", err)
	}
	return key.actor, nil
}
