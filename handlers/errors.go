package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/coopfed/coopfed"
)

// statusError is an error that already knows its HTTP status.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func notFoundError(msg string) error { return &statusError{status: http.StatusNotFound, msg: msg} }

// codeStatus maps the domain's error codes to HTTP; the only such table.
var codeStatus = map[string]int{
	coopfed.EINVALID:      http.StatusBadRequest,
	coopfed.ENOTFOUND:     http.StatusNotFound,
	coopfed.EGONE:         http.StatusGone,
	coopfed.ECONFLICT:     http.StatusConflict,
	coopfed.EUNAUTHORIZED: http.StatusUnauthorized,
	coopfed.EFORBIDDEN:    http.StatusForbidden,
	coopfed.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	coopfed.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	coopfed.ERATELIMIT:    http.StatusTooManyRequests,
	coopfed.EUNAVAILABLE:  http.StatusBadGateway,
	coopfed.EINTERNAL:     http.StatusInternalServerError,
}

// errorStatus returns the status and client-safe message for err.
func errorStatus(err error) (int, string, map[string]string) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.msg, nil
	}
	var de *coopfed.Error
	if errors.As(err, &de) {
		status := codeStatus[de.Code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if de.Code == coopfed.EINVALID && len(de.Fields) > 0 {
			status = http.StatusUnprocessableEntity // the body parsed but its fields did not validate
		}
		return status, de.Message, de.Fields
	}
	return http.StatusInternalServerError, "internal error", nil
}

// error answers with err: JSON for API and ActivityPub clients, an HTML page
// for browsers. Internal errors are logged in full and shown as "internal
// error".
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, fields := errorStatus(err)
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") || wantsJSON(r) || r.Method == http.MethodPost || s.tmpl == nil {
		body := map[string]any{"error": msg}
		if len(fields) > 0 {
			body["fields"] = fields
		}
		writeJSON(w, status, "application/json; charset=utf-8", body)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	s.tmpl.Render(w, "error", map[string]any{"Site": s.iris.Domain(), "Status": status, "StatusText": http.StatusText(status), "Message": msg})
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// apiFunc is a JSON API handler that returns its error instead of writing
// it; apiHandler writes the error through s.error, the one mapping to HTTP.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// apiHandler adapts an apiFunc to net/http.
func (s *Server) apiHandler(fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.error(w, r, err)
		}
	}
}
