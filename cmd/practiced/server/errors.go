package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/examlane/examlane/lane"
)

// Errors of this package that have no lane sentinel. The HTTP layer maps
// every error to a status with errors.Is (statusOf).
var (
	// errGone: the resource (or that version) was deleted.
	errGone = errors.New("deleted")
	// errPreconditionRequired: an update without If-Match.
	errPreconditionRequired = errors.New("If-Match is required")
	// errNoIdentity: no valid, unrevoked lane certificate.
	errNoIdentity = errors.New("no valid lane certificate")
	// errNotAcceptable: the server cannot produce the requested media type.
	errNotAcceptable = errors.New("not acceptable")
	// errMethod: the method is not allowed on the path.
	errMethod = errors.New("method not allowed")
	// errTooLarge: the request body is above the limit.
	errTooLarge = errors.New("request too large")
	// errExists: an administrative object (tenant, data directory) exists.
	errExists = errors.New("already exists")
)

// unavailable marks a storage failure as retryable.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", lane.ErrUnavailable, err)
}

// notFound returns an ErrNotFound error for Type/id. It is the same for
// unknown ids and another tenant's ids.
func notFound(typ, id string) error {
	return fmt.Errorf("%s/%s: %w", typ, id, lane.ErrNotFound)
}

// statusOf maps an error to its HTTP status and FHIR issue code.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, lane.ErrNotFound):
		return http.StatusNotFound, "not-found"
	case errors.Is(err, errGone):
		return http.StatusGone, "deleted"
	case errors.Is(err, lane.ErrConflict):
		return http.StatusPreconditionFailed, "conflict"
	case errors.Is(err, errPreconditionRequired):
		return http.StatusPreconditionRequired, "required"
	case errors.Is(err, lane.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, errNoIdentity), errors.Is(err, errBadToken):
		return http.StatusUnauthorized, "login"
	case errors.Is(err, lane.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, errNotAcceptable):
		return http.StatusNotAcceptable, "not-supported"
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, "not-supported"
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge, "too-costly"
	case errors.Is(err, lane.ErrUnavailable):
		return http.StatusServiceUnavailable, "transient"
	}
	return http.StatusInternalServerError, "exception"
}
