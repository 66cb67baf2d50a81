package entities

// Outcome is the rolled-up result of a step or a process, with the Django
// admin's rules: a step succeeds when its successful registrations reach
// TotalRegistrations, fails when any registration failed, and is pending
// otherwise; a process fails when any registration failed and succeeds when
// every step succeeded.
type Outcome string

// Outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailed  Outcome = "failed"
	OutcomePending Outcome = "pending" // registrations still missing
)

// StepDetail is a step with its registrations, oldest first.
type StepDetail struct {
	Step          StepEvent           `json:"step"`
	Registrations []RegistrationEvent `json:"registrations"`
}

// Outcome rolls up the step's registrations.
func (s StepDetail) Outcome() Outcome {
	ok := 0
	for _, r := range s.Registrations {
		if !r.Success {
			return OutcomeFailed
		}
		ok++
	}
	if ok >= s.Step.TotalRegistrations {
		return OutcomeSuccess
	}
	return OutcomePending
}

// Missing is how many expected registrations are absent ("No registration"
// in reports).
func (s StepDetail) Missing() int {
	if n := s.Step.TotalRegistrations - len(s.Registrations); n > 0 {
		return n
	}
	return 0
}

// ProcessDetail is a process with its steps in step order.
type ProcessDetail struct {
	Process ProcessEvent `json:"process"`
	Steps   []StepDetail `json:"steps"`
}

// Outcome rolls up every step of the process.
func (p ProcessDetail) Outcome() Outcome {
	out := OutcomeSuccess
	for _, s := range p.Steps {
		switch s.Outcome() {
		case OutcomeFailed:
			return OutcomeFailed
		case OutcomePending:
			out = OutcomePending
		}
	}
	return out
}

// EndpointStats summarises the request events of one method and URL over a
// period: the data of the per-endpoint performance report.
type EndpointStats struct {
	Method    string  `json:"method"`
	URL       string  `json:"url"`
	Count     int64   `json:"count"`
	Errors    int64   `json:"errors"`     // status code >= 500 or an error recorded
	ErrorRate float64 `json:"error_rate"` // Errors / Count, 0..1
	MeanMS    float64 `json:"mean_ms"`    // the mean response time, drf-audit-trail's chart
	P50MS     float64 `json:"p50_ms"`
	P95MS     float64 `json:"p95_ms"`
}

// LoginRow is a login event with what the login list shows of the request
// that carried it: the client's IP, the answer's status code and the URL
// (empty when the request is unknown).
type LoginRow struct {
	LoginEvent
	IPAddress         string `json:"ip_address"`
	RequestStatusCode int    `json:"request_status_code"`
	URL               string `json:"url"`
}

// StepRow is a step with its process's name and the counts of its
// registrations: the step list's row.
type StepRow struct {
	StepEvent
	ProcessName   string  `json:"process_name"`
	Registrations int64   `json:"registrations"`
	Succeeded     int64   `json:"succeeded"`
	Failed        int64   `json:"failed"`
	Outcome       Outcome `json:"outcome"`
}

// RegistrationRow is a registration with its step and process: the
// registration list's row.
type RegistrationRow struct {
	RegistrationEvent
	StepName    string `json:"step_name"`
	ProcessID   ID     `json:"process_id"`
	ProcessName string `json:"process_name"`
}
