package local_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// TestCancel: the owner cancels a pending prediction over HTTP and gets
// its charge back once; it stays canceled after a restart.
func TestCancel(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir, mlsvc.Delay{Min: time.Hour, Max: time.Hour})
	ann := a.register("ann", "100")
	bob := a.register("bob", "")
	_, id := ann.predict("lr", rows)
	if got := ann.balance(); got != "90" {
		t.Fatalf("balance after a prediction = %s, want 90", got)
	}
	if code := bob.do("POST", "/predict/"+id+"/cancel", "", nil); code != 404 {
		t.Errorf("someone else's cancel: %d, want 404", code)
	}
	if code := (&client{a: a}).do("POST", "/predict/"+id+"/cancel", "", nil); code != 401 {
		t.Errorf("cancel without credentials: %d, want 401", code)
	}
	if code := ann.do("POST", "/predict/nope/cancel", "", nil); code != 404 {
		t.Errorf("cancel of an absent id: %d, want 404", code)
	}
	var out struct {
		ID     string      `json:"id"`
		Status string      `json:"status"`
		Cost   json.Number `json:"cost"`
	}
	if code := ann.do("POST", "/predict/"+id+"/cancel", "", &out); code != 200 || out.ID != id || out.Status != "canceled" {
		t.Fatalf("cancel: %d %+v, want 200, %s canceled", code, out, id)
	}
	if got := ann.balance(); got != "100" {
		t.Errorf("balance after cancel = %s, want 100", got)
	}
	if code := ann.do("POST", "/predict/"+id+"/cancel", "", nil); code != 409 {
		t.Errorf("second cancel: %d, want 409", code)
	}
	if code := ann.do("GET", "/predict/"+id+"/download", "", nil); code != 409 {
		t.Errorf("download of a canceled prediction: %d, want 409", code)
	}
	if p := ann.get(id); p.Status != "canceled" || p.OutputData != nil {
		t.Errorf("GET after cancel: %+v", p)
	}

	// Ten cancels at once: one wins, the others are conflicts.
	_, id2 := ann.predict("lr", rows)
	n := atOnce(10, func() int { return ann.do("POST", "/predict/"+id2+"/cancel", "", nil) })
	if n[200] != 1 || n[409] != 9 {
		t.Errorf("10 concurrent cancels: %v, want one 200 and nine 409", n)
	}
	if got := ann.balance(); got != "100" {
		t.Errorf("balance after concurrent cancels = %s, want 100", got)
	}

	a.close()
	a = open(t, dir, mlsvc.Delay{})
	ann.a = a
	if p := ann.get(id2); p.Status != "canceled" {
		t.Errorf("after a restart: %s, want canceled", p.Status)
	}
	if got := ann.balance(); got != "100" {
		t.Errorf("balance after a restart = %s, want 100", got)
	}
}

// TestCancelRacesCompletion: predictions without a wait are canceled as
// they run; each ends canceled or completed, and the balance matches.
func TestCancelRacesCompletion(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{})
	ann := a.register("ann", "500")
	const n = 20
	canceled := 0
	for i := range n {
		_, id := ann.predict("lr", rows)
		if i%2 == 1 {
			time.Sleep(time.Duration(i) * time.Millisecond)
		}
		code := ann.do("POST", "/predict/"+id+"/cancel", "", nil)
		p := ann.wait(id)
		switch {
		case code == 200 && p.Status == "canceled":
			canceled++
		case code == 409 && p.Status == "completed":
		default:
			t.Errorf("%s: cancel %d, status %s", id, code, p.Status)
		}
	}
	if got, want := ann.balance(), fmt.Sprint(500-10*(n-canceled)); got != want {
		t.Errorf("balance = %s with %d of %d canceled, want %s", got, canceled, n, want)
	}
	t.Logf("%d of %d canceled", canceled, n)
}
