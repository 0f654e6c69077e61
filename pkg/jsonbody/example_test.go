package jsonbody_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"mlsvc/pkg/jsonbody"
)

// The HTTP layer's decode, as a drop-in: read errors (such as
// *http.MaxBytesError, a 413) pass through; every *jsonbody.Error is a 400
// whose message is safe to show.
func ExampleDecode() {
	var req struct {
		Amount json.RawMessage `json:"amount"`
	}
	for _, body := range []string{`{"amount": 12.5}`, `{"Amount": 12.5}`, `{}`, `{"amount":1,"AMOUNT":1000}`} {
		err := jsonbody.Decode(strings.NewReader(body), &req, "amount")
		fmt.Printf("%-28s %v\n", body, err)
	}
	// Output:
	// {"amount": 12.5}             <nil>
	// {"Amount": 12.5}             field "Amount" is not a known field (names are case-sensitive)
	// {}                           field "amount" is required
	// {"amount":1,"AMOUNT":1000}   field "AMOUNT" duplicates "amount": member names are compared ignoring case
}
