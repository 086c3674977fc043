package console

import (
	"errors"
	"net/http"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/httpx"
)

// quote answers what a set of sessions costs under the billing rules
// (docs/billing.md): the same request and statement as `relay quote`, so a
// desk can check a bill, or tell a customer in advance what work outside
// the contract will cost. It reads nothing from the store: the request
// carries every fact, which keeps the two ways of asking identical.
func (c *console) quote(w http.ResponseWriter, r *http.Request) error {
	in, err := billing.Decode(http.MaxBytesReader(w, r.Body, billing.MaxRequestBytes))
	if err == nil {
		var st billing.Statement
		if st, err = billing.Compute(in); err == nil {
			httpx.JSON(w, http.StatusOK, st)
			return nil
		}
	}
	var tooBig *http.MaxBytesError
	var fe *billing.FieldError
	switch {
	case errors.As(err, &tooBig):
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body over %d bytes", billing.MaxRequestBytes)
	case errors.As(err, &fe) && fe.Field == "":
		return httpx.Errorf(http.StatusBadRequest, "bad_json", "request body is not a quote request: %s", fe.Err)
	case errors.As(err, &fe):
		return httpx.FieldError(fe.Field, "%s", fe.Error())
	}
	return err
}
