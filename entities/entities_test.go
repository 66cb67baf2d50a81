package entities_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
)

func TestIDsAreTimeOrderedAndRoundTrip(t *testing.T) {
	a, b := entities.NewID(), entities.NewID()
	if a.String() >= b.String() {
		t.Fatalf("UUIDv7 ids must sort by creation: %s then %s", a, b)
	}
	js, err := json.Marshal(map[string]entities.ID{"id": a})
	if err != nil {
		t.Fatal(err)
	}
	if string(js) != `{"id":"`+a.String()+`"}` {
		t.Fatalf("JSON form %s", js)
	}
	var back map[string]entities.ID
	if err := json.Unmarshal(js, &back); err != nil || back["id"] != a {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if p, err := entities.ParseID(a.String()); err != nil || p != a {
		t.Fatalf("ParseID: %v %v", p, err)
	}
	var scanned entities.ID
	if err := scanned.Scan(a.String()); err != nil || scanned != a {
		t.Fatalf("Scan: %v %v", scanned, err)
	}
	if !(entities.ID{}).IsZero() || a.IsZero() {
		t.Fatal("IsZero")
	}
}

func step(total int, results ...bool) entities.StepDetail {
	s := entities.StepDetail{Step: entities.StepEvent{TotalRegistrations: total}}
	for _, ok := range results {
		s.Registrations = append(s.Registrations, entities.RegistrationEvent{Success: ok})
	}
	return s
}

func TestOutcomeRollups(t *testing.T) {
	cases := []struct {
		step    entities.StepDetail
		want    entities.Outcome
		missing int
	}{
		{step(1, true), entities.OutcomeSuccess, 0},
		{step(2, true), entities.OutcomePending, 1},
		{step(2, true, false), entities.OutcomeFailed, 0},
		{step(1), entities.OutcomePending, 1},
		{step(1, false, false), entities.OutcomeFailed, 0},
	}
	for i, c := range cases {
		if got := c.step.Outcome(); got != c.want {
			t.Errorf("case %d: Outcome = %s, want %s", i, got, c.want)
		}
		if got := c.step.Missing(); got != c.missing {
			t.Errorf("case %d: Missing = %d, want %d", i, got, c.missing)
		}
	}
	p := entities.ProcessDetail{Steps: []entities.StepDetail{step(1, true), step(2, true)}}
	if p.Outcome() != entities.OutcomePending {
		t.Errorf("a process with a pending step is pending, got %s", p.Outcome())
	}
	p.Steps = append(p.Steps, step(1, false))
	if p.Outcome() != entities.OutcomeFailed {
		t.Errorf("any failed registration fails the process, got %s", p.Outcome())
	}
}

// A step succeeds when its successful registrations reach the expected
// number, as in drf-audit-trail's admin.
func ExampleStepDetail_Outcome() {
	s := entities.StepDetail{
		Step:          entities.StepEvent{Name: "Validação dos Dados", TotalRegistrations: 2},
		Registrations: []entities.RegistrationEvent{{Success: true, Name: "Codigo do produto validados com sucesso"}},
	}
	fmt.Println(s.Outcome(), s.Missing())
	s.Registrations = append(s.Registrations, entities.RegistrationEvent{Success: true})
	fmt.Println(s.Outcome(), s.Missing())
	// Output:
	// pending 1
	// success 0
}
