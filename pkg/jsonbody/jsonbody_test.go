package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type topUp struct {
	Amount json.RawMessage `json:"amount"`
}

type predict struct {
	ModelID   string          `json:"model_id"`
	InputData json.RawMessage `json:"input_data"`
	Count     int             `json:"count"`
	Tags      []string        `json:"tags"`
	Wait      *bool           `json:"wait"`
}

func TestUnmarshal(t *testing.T) {
	var p predict
	in := `{"model_id":"m1","input_data":[{"feature_0":1,"x":{"k":[1,"é"]}}],"count":3,"tags":["a"],"wait":true}`
	if err := Unmarshal([]byte(in), &p, "model_id", "input_data"); err != nil {
		t.Fatal(err)
	}
	if p.ModelID != "m1" || string(p.InputData) != `[{"feature_0":1,"x":{"k":[1,"é"]}}]` || p.Count != 3 ||
		len(p.Tags) != 1 || p.Wait == nil || !*p.Wait {
		t.Errorf("got %+v", p)
	}
	var tu topUp
	if err := Unmarshal([]byte(" {\"amount\": 1e2}\n"), &tu, "amount"); err != nil || string(tu.Amount) != "1e2" {
		t.Errorf("got %q, %v; want amount 1e2", tu.Amount, err)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name, in string
		required []string
		want     string // the whole message
		field    string
	}{
		{"empty", "", nil, "request body is empty: a JSON object is required", ""},
		{"blank", " \n", nil, "request body is empty: a JSON object is required", ""},
		{"array", `[{"amount":1}]`, nil, "request body must be a JSON object", ""},
		{"number", `5`, nil, "request body must be a JSON object", ""},
		{"case-variant name fills nothing", `{"Amount":5}`, nil, `field "Amount" is not a known field (names are case-sensitive)`, "Amount"},
		{"unknown", `{"amount":5,"tip":1}`, nil, `field "tip" is not a known field (names are case-sensitive)`, "tip"},
		{"duplicate", `{"amount":1,"amount":1000}`, nil, `field "amount" is given twice`, "amount"},
		{"duplicate ignoring case", `{"amount":1,"AMOUNT":1000}`, nil, `field "AMOUNT" duplicates "amount": member names are compared ignoring case`, "AMOUNT"},
		{"nested duplicate", `{"amount":{"a":1,"a":2}}`, nil, `field "amount.a" is given twice`, "amount.a"},
		{"nested duplicate ignoring case", `{"amount":[{"feature_0":1,"FEATURE_0":2}]}`, nil,
			`field "amount[0].FEATURE_0" duplicates "feature_0": member names are compared ignoring case`, "amount[0].FEATURE_0"},
		{"unicode fold", `{"amount":{"straße":1,"STRASSE":2,"ſ":1,"S":2}}`, nil,
			`field "amount.S" duplicates "ſ": member names are compared ignoring case`, "amount.S"},
		{"invalid UTF-8 value", "{\"amount\":\"\xff\"}", nil, `field "amount" contains invalid UTF-8`, "amount"},
		{"invalid UTF-8 name", "{\"amount\":1,\"\xc3\":1}", nil, "request body contains invalid UTF-8", ""},
		{"lone surrogate", `{"amount":"\ud800"}`, nil, `field "amount" contains invalid UTF-8`, "amount"},
		{"trailing object", `{"amount":1} {"amount":2}`, nil, "request body must hold one JSON object and nothing after it", ""},
		{"trailing garbage", `{"amount":1} x`, nil, "request body must hold one JSON object and nothing after it", ""},
		{"unterminated", `{"amount":1`, nil, "malformed JSON: the body ends too early", ""},
		{"syntax", `{"amount":}`, nil, "malformed JSON at byte 10", ""},
		{"missing required", `{"model_id":"m"}`, []string{"model_id", "input_data"}, `field "input_data" is required`, "input_data"},
		{"null is missing", `{"model_id":null,"input_data":null}`, []string{"model_id", "input_data"}, `field "model_id" is required`, "model_id"},
		{"nested key does not satisfy required", `{"input_data":{"model_id":"m"}}`, []string{"model_id"}, `field "model_id" is required`, "model_id"},
		{"wrong type string", `{"model_id":5}`, nil, `field "model_id" must be a string`, "model_id"},
		{"wrong type int", `{"count":1.5}`, nil, `field "count" must be an integer`, "count"},
		{"wrong type array", `{"tags":"a"}`, nil, `field "tags" must be an array`, "tags"},
		{"wrong type bool", `{"wait":1}`, nil, `field "wait" must be true or false`, "wait"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v any = &predict{}
			if strings.Contains(tc.in, "amount") {
				v = &topUp{}
			}
			err := Unmarshal([]byte(tc.in), v, tc.required...)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v (%T), want *Error", err, err)
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
			if e.Field != tc.field {
				t.Errorf("Field = %q, want %q", e.Field, tc.field)
			}
		})
	}
}

func TestDecodeReadError(t *testing.T) {
	rec := httptest.NewRecorder()
	body := http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(`{"amount":"`+strings.Repeat("1", 100)+`"}`)), 10)
	err := Decode(body, &topUp{}, "amount")
	var maxErr *http.MaxBytesError
	if !errors.As(err, &maxErr) {
		t.Errorf("error = %v, want a *http.MaxBytesError the caller maps to 413", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Errorf("a read error is reported as a bad body: %v", err)
	}
	var tu topUp
	if err := Decode(strings.NewReader(`{"amount":5}`), &tu, "amount"); err != nil || string(tu.Amount) != "5" {
		t.Errorf("Decode = %q, %v; want amount 5", tu.Amount, err)
	}
}

// FuzzUnmarshal: whatever is accepted has no names equal ignoring case in
// any object, is valid UTF-8, and decodes with encoding/json to the same value.
func FuzzUnmarshal(f *testing.F) {
	for _, seed := range []string{
		`{"model_id":"m","input_data":[{"a":1}]}`, `{"Amount":5}`, `{"model_id":"m","MODEL_ID":"n"}`,
		`{"input_data":{"a":1,"a":2}}`, "{\"model_id\":\"\xff\"}", `{"model_id":"\ud800"}`, `{} {}`, `[]`, ``,
		`{"input_data":[{"k":{"ſ":1,"S":2}}]}`, `{"count":1e2}`, `{"tags":null,"wait":false}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p predict
		err := Unmarshal(data, &p, "model_id")
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Error() == "" {
				t.Fatalf("error %v (%T) is not a described *Error", err, err)
			}
			return
		}
		if !json.Valid(data) || !strings.Contains(string(data), `"model_id"`) {
			t.Fatalf("accepted %q", data)
		}
		if err := checkFoldUnique(data); err != nil {
			t.Fatalf("accepted %q: %v", data, err)
		}
		var q predict
		if err := json.Unmarshal(data, &q); err != nil || q.ModelID != p.ModelID || string(q.InputData) != string(p.InputData) {
			t.Fatalf("encoding/json reads %q as %+v (%v), Unmarshal as %+v", data, q, err, p)
		}
	})
}

// checkFoldUnique is an independent check, with encoding/json's tokens and
// strings.EqualFold, that no object in data has two names equal ignoring case.
func checkFoldUnique(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		names  []string
		isName bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && tok != json.Delim('}') {
			top.isName = !top.isName
			if top.isName {
				name := tok.(string)
				for _, n := range top.names {
					if strings.EqualFold(n, name) {
						return fmt.Errorf("names %q and %q", n, name)
					}
				}
				top.names = append(top.names, name)
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].isName = false
			}
		}
	}
}
