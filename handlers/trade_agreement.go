package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/gorilla/mux"
)

// Agreements are served to anyone, like the listing they settle: what a
// trade took from a listing already shows in its public Update, a
// network of coops keeps its reciprocal exchange open to its members, and
// the Agreement holds no message, only the commitments both sides signed
// up to. The receipts (Notes whose context is the agreement) resolve at
// their Note IRIs (handlers/pages.go).
func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(federation.RouteAgreement, s.getAgreement).Methods(http.MethodGet, http.MethodHead)
	})
}

// getAgreement serves an agreement made by a coop of this instance as
// ActivityStreams JSON; one that was cancelled (its counter-offer could
// not be honoured) is gone with it.
func (s *Server) getAgreement(w http.ResponseWriter, r *http.Request) {
	iri := s.iris.Agreement(mux.Vars(r)["id"])
	t, err := s.store.TradeByAgreement(r.Context(), iri)
	if err != nil {
		s.error(w, r, coopfed.Errorf(coopfed.ENOTFOUND, "no such agreement"))
		return
	}
	// Why: only an agreement a local coop made is ours to serve; a local
	// IRI can only have come from one, but the check costs nothing.
	if s.iris.CoopName(t.Recipient()) == "" {
		s.error(w, r, coopfed.Errorf(coopfed.ENOTFOUND, "no such agreement"))
		return
	}
	s.writeActivity(w, r, s.fed.AgreementDocument(t))
}

// routeVerifyAgreement is the page where anyone checks the integrity
// proof of an agreement, on any instance, from its IRI.
const routeVerifyAgreement = "/verify-agreement"

// maxAgreementBody bounds a pasted agreement: ours are under 4 KiB.
const maxAgreementBody = 64 << 10

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(routeVerifyAgreement, s.getVerifyAgreement).Methods(http.MethodGet, http.MethodHead)
		api.HandleFunc("/agreements/verify", s.apiHandler(s.apiVerifyAgreement)).Methods(http.MethodGet, http.MethodPost)
	})
}

// verificationOut is the JSON answer of a verification.
func verificationOut(c *federation.AgreementCheck) map[string]any {
	signers := []map[string]any{}
	for _, sg := range c.Signers {
		signers = append(signers, map[string]any{"actor": sg.Actor, "key": sg.Key, "created": sg.Created})
	}
	return map[string]any{"valid": true, "agreement": c.IRI, "parties": c.Parties, "signers": signers}
}

// apiVerifyAgreement verifies an agreement: GET fetches it from ?iri=,
// POST checks the document in the body. A document that fails is
// answered 422 with what failed.
func (s *Server) apiVerifyAgreement(w http.ResponseWriter, r *http.Request) error {
	if err := s.verifyAllowed(w, r); err != nil {
		return err
	}
	var check *federation.AgreementCheck
	var err error
	if r.Method == http.MethodPost {
		body, rerr := io.ReadAll(io.LimitReader(r.Body, maxAgreementBody+1))
		if rerr != nil {
			return rerr
		}
		if len(body) > maxAgreementBody {
			return coopfed.Errorf(coopfed.EINVALID, "the document is larger than 64 KiB")
		}
		check, err = s.fed.VerifyAgreement(r.Context(), body)
	} else {
		iri := strings.TrimSpace(r.URL.Query().Get("iri"))
		if iri == "" {
			return coopfed.FieldErrors(map[string]string{"iri": "the IRI of the agreement"})
		}
		check, _, err = s.fed.VerifyAgreementAt(r.Context(), iri)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, verificationOut(check))
	return nil
}

// verifyAllowed spends one of the client's verifications. Why: a
// verification by IRI makes this instance fetch from another server, and
// each one checks signatures; without a bound per client the endpoint
// would let anyone make the instance fetch and compute without end. The
// refusal carries Retry-After, in whole seconds rounded up.
func (s *Server) verifyAllowed(w http.ResponseWriter, r *http.Request) error {
	ok, wait := s.fed.AllowVerify(clientIP(r))
	if ok {
		return nil
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	return coopfed.Errorf(coopfed.ERATELIMIT, "too many verifications from your address; try again later")
}

// getVerifyAgreement shows the verification form and, given ?iri=, the
// outcome: who signed the agreement and when, or why it fails.
func (s *Server) getVerifyAgreement(w http.ResponseWriter, r *http.Request) {
	iri := strings.TrimSpace(r.URL.Query().Get("iri"))
	data := map[string]any{"IRI": iri}
	s.visitor(w, r, data)
	if iri != "" {
		if err := s.verifyAllowed(w, r); err != nil {
			s.uiError(w, r, err)
			return
		}
		check, body, err := s.fed.VerifyAgreementAt(r.Context(), iri)
		if err != nil {
			data["Problem"] = coopfed.ErrorMessage(err)
		} else {
			data["Check"] = check
		}
		if len(body) > 0 {
			var pretty bytes.Buffer
			if json.Indent(&pretty, body, "", "  ") == nil {
				data["Document"] = pretty.String()
			}
		}
	}
	s.render(w, r, "verify", data)
}
