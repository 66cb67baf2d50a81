// Package process describes business processes in the audit trail: a
// process (name, description) has ordered steps, each step expects a number
// of registrations, and each registration records a success or a failure
// with a name, an optional description and optional extra JSON. It is the
// Go counterpart of drf-audit-trail's ProcessAudit.
//
// Declare a process once, as a Definition, and start a Run of it wherever
// the process happens:
//
//	var CreateProduct = process.Definition{
//		Name: "Criar produto",
//		Steps: []process.StepDefinition{
//			{Name: "Validação dos Dados", Order: 1, Expected: 2},
//			{Name: "Salvar no banco de dados", Order: 2},
//		},
//	}
//
//	run := audit.From(c).StartProcess(CreateProduct) // in a gin handler
//	run.Step(1).Succeed("Codigo do produto validados com sucesso")
//	run.Step(1).Fail("Erros de validação", process.JSON(errs))
//
// A Run only holds rows in memory; it never calls a database. Its rows
// leave it in two ways: AppendTo copies the rows not yet handed over into a
// batch (the root package does this when the request ends, so the process
// is written in the same transaction as its request event), and End writes
// them through the run's Sink (the audit trail, for background jobs). Every
// id is assigned at once, so Run.ID can be returned to a client before
// anything is written.
//
// A Run and its Steps are safe for concurrent use, and the methods of a nil
// *Run or *Step do nothing, so auditing never breaks the code it audits.
package process

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/gin-audit-trail/audit/entities"
)

// Definition describes a business process once, for every run of it: the
// Go counterpart of a drf-audit-trail ProcessAudit subclass. It is a plain
// value, safe to share between goroutines.
type Definition struct {
	// Name of the process, such as "Criar produto" (at most 255 characters
	// are stored).
	Name string
	// Description of the process (optional).
	Description string
	// Steps are the steps every run starts with.
	Steps []StepDefinition
}

// StepDefinition describes one step of a process.
type StepDefinition struct {
	// Name of the step, such as "Validação dos Dados".
	Name string
	// Description of the step (optional).
	Description string
	// Order is the position of the step in its process, and the key of
	// Run.Step. Zero means the step's position in Definition.Steps,
	// counting from 1.
	Order int
	// Expected is how many successful registrations complete the step
	// (total_registrations). Zero means 1.
	Expected int
}

// Sink is where Run.End sends a run's rows. *audit.Trail is a Sink.
type Sink interface {
	Record(ctx context.Context, b *entities.Batch) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ctx context.Context, b *entities.Batch) error

// Record calls f.
func (f SinkFunc) Record(ctx context.Context, b *entities.Batch) error { return f(ctx, b) }

// Config says who runs a process and where its rows go.
type Config struct {
	// User is the id of the user running the process, stored in
	// created_by. When empty, AppendTo's defaultUser is used.
	User string
	// RequestID links the process to the request that started it; nil for
	// a process run outside a request.
	RequestID *entities.ID
	// Sink receives the rows when End is called. With no Sink, End only
	// marks the run ended.
	Sink Sink
	// Now is the clock, time.Now by default. Times are stored in UTC.
	Now func() time.Time
}

// Run is one run of a process: it assigns the ids and holds the process
// row, its step rows and its registration rows until they are handed over
// by AppendTo or End. Create it with Start.
type Run struct {
	mu        sync.Mutex
	cfg       Config
	process   entities.ProcessEvent
	steps     []*Step
	regs      []entities.RegistrationEvent // in registration order
	sentProc  bool                         // process row handed over
	sentSteps int                          // steps[:sentSteps] handed over
	sentRegs  int                          // regs[:sentRegs] handed over
	ended     bool
}

// Step is one step of a Run. Get it with Run.Step, Run.StepNamed or
// Run.AddStep; its methods are safe for concurrent use.
type Step struct {
	run *Run
	row entities.StepEvent // guarded by run.mu
}

// Start begins a run of def: the process and its steps get their ids and
// start time now.
func Start(def Definition, cfg Config) *Run {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	now := cfg.Now().UTC()
	r := &Run{cfg: cfg}
	r.process = entities.ProcessEvent{
		ID:          entities.NewID(),
		Datetime:    now,
		Name:        def.Name,
		Description: def.Description,
		CreatedBy:   cfg.User,
		RequestID:   cfg.RequestID,
	}
	r.steps = make([]*Step, len(def.Steps))
	backing := make([]Step, len(def.Steps)) // one allocation for every step
	expected := 0
	for i, sd := range def.Steps {
		if sd.Order == 0 {
			sd.Order = i + 1
		}
		r.initStep(&backing[i], sd, now)
		r.steps[i] = &backing[i]
		expected += backing[i].row.TotalRegistrations
	}
	r.regs = make([]entities.RegistrationEvent, 0, min(expected, maxPrealloc))
	return r
}

// maxPrealloc bounds the registrations room reserved at Start.
const maxPrealloc = 16

func (r *Run) initStep(s *Step, sd StepDefinition, now time.Time) {
	expected := sd.Expected
	if expected <= 0 {
		expected = 1
	}
	*s = Step{run: r, row: entities.StepEvent{
		ID:                 entities.NewID(),
		Datetime:           now,
		ProcessID:          r.process.ID,
		Name:               sd.Name,
		Description:        sd.Description,
		StepOrder:          sd.Order,
		TotalRegistrations: expected,
		CreatedBy:          r.cfg.User,
	}}
}

// ID is the id of the process row, known before it is written (the zero
// ID for a nil Run).
func (r *Run) ID() entities.ID {
	if r == nil {
		return entities.ID{}
	}
	return r.process.ID
}

// RequestID is the id of the request that started the run, or nil.
func (r *Run) RequestID() *entities.ID {
	if r == nil {
		return nil
	}
	return r.process.RequestID
}

// Describe sets the process description, replacing the definition's.
func (r *Run) Describe(text string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.process.Description = text
	r.mu.Unlock()
}

// SetExtra stores v, marshalled as JSON now, in the process's
// extra_informations.
func (r *Run) SetExtra(v any) {
	if r == nil {
		return
	}
	doc := marshal(v)
	r.mu.Lock()
	r.process.ExtraInformations = entities.JSONText(doc)
	r.mu.Unlock()
}

// SetUser names the user running the process (created_by of the process,
// its steps and its registrations not yet handed over). It overrides
// Config.User and AppendTo's defaultUser.
func (r *Run) SetUser(id string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg.User = id
	r.process.CreatedBy = id
	for _, s := range r.steps {
		s.row.CreatedBy = id
	}
	for i := range r.regs {
		r.regs[i].CreatedBy = id
	}
}

// Step returns the step with this order, or nil (whose methods do nothing)
// when the run has none. When several steps share an order, the first is
// returned.
func (r *Run) Step(order int) *Step {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.steps {
		if s.row.StepOrder == order {
			return s
		}
	}
	return nil
}

// StepNamed returns the first step with this name, or nil.
func (r *Run) StepNamed(name string) *Step {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.steps {
		if s.row.Name == name {
			return s
		}
	}
	return nil
}

// AddStep adds a step that the definition does not declare, for processes
// whose steps depend on the data (one step per file of an import, say). A
// zero Order is the next after the highest order so far.
func (r *Run) AddStep(sd StepDefinition) *Step {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if sd.Order == 0 {
		for _, s := range r.steps {
			sd.Order = max(sd.Order, s.row.StepOrder)
		}
		sd.Order++
	}
	s := &Step{}
	r.initStep(s, sd, r.cfg.Now().UTC())
	r.steps = append(r.steps, s)
	return s
}

// Detail returns a copy of the run as it stands, in the shape the
// repository reads back: steps in order, each with its registrations.
func (r *Run) Detail() entities.ProcessDetail {
	if r == nil {
		return entities.ProcessDetail{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	d := entities.ProcessDetail{Process: r.process, Steps: make([]entities.StepDetail, len(r.steps))}
	idx := make(map[entities.ID]int, len(r.steps))
	for i, s := range r.steps {
		d.Steps[i] = entities.StepDetail{Step: s.row, Registrations: []entities.RegistrationEvent{}}
		idx[s.row.ID] = i
	}
	for _, reg := range r.regs {
		st := &d.Steps[idx[reg.StepID]]
		st.Registrations = append(st.Registrations, reg)
	}
	sortSteps(d.Steps)
	return d
}

// sortSteps orders steps by StepOrder, keeping the order of equal ones
// (an insertion sort: processes have a handful of steps).
func sortSteps(s []entities.StepDetail) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Step.StepOrder < s[j-1].Step.StepOrder; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Outcome is the rolled-up result of the run so far (see
// entities.ProcessDetail.Outcome).
func (r *Run) Outcome() entities.Outcome {
	if r == nil {
		return entities.OutcomePending
	}
	return r.Detail().Outcome()
}

// appendTo appends to b the rows not yet handed over (the process row the
// first time, then new steps and registrations) and returns how many it
// appended. Rows with no user get defaultUser as created_by. A row is
// handed over once; later changes to it (Describe, SetExtra) are not
// stored.
func (r *Run) appendTo(b *entities.Batch, defaultUser string) int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	if !r.sentProc {
		b.Processes = slices.Grow(b.Processes, 1)
	}
	b.Steps = slices.Grow(b.Steps, len(r.steps)-r.sentSteps)
	b.Registrations = slices.Grow(b.Registrations, len(r.regs)-r.sentRegs)
	stamp := func(user *string) {
		if *user == "" {
			*user = defaultUser
		}
	}
	if !r.sentProc {
		p := r.process
		stamp(&p.CreatedBy)
		b.Processes = append(b.Processes, p)
		r.sentProc = true
		n++
	}
	for _, s := range r.steps[r.sentSteps:] {
		row := s.row
		stamp(&row.CreatedBy)
		b.Steps = append(b.Steps, row)
		n++
	}
	r.sentSteps = len(r.steps)
	for _, reg := range r.regs[r.sentRegs:] {
		stamp(&reg.CreatedBy)
		b.Registrations = append(b.Registrations, reg)
		n++
	}
	r.sentRegs = len(r.regs)
	return n
}

// End marks the run ended and writes the rows not yet handed over through
// the run's Sink. Call it (typically deferred) when a background job's
// process is over, or when a goroutine registers after its request ended.
// Calling End again writes only what was registered since.
func (r *Run) End(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	r.ended = true
	r.mu.Unlock()
	return r.Flush(ctx)
}

// Flush hands the rows added since the last hand-over (the process row the
// first time, then new steps and registrations) to the Sink without ending
// the run, so that a long background job stores its progress as it goes,
// and returns the Sink's error. A row is handed over once: later changes
// to it (Describe, SetExtra) are not stored. Without a Sink it does
// nothing.
func (r *Run) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	sink, user := r.cfg.Sink, r.cfg.User
	r.mu.Unlock()
	if sink == nil {
		return nil
	}
	b := &entities.Batch{}
	if r.appendTo(b, user) == 0 {
		return nil
	}
	return sink.Record(ctx, b)
}

// Ended reports whether End was called.
func (r *Run) Ended() bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

// ID is the id of the step row.
func (s *Step) ID() entities.ID {
	if s == nil {
		return entities.ID{}
	}
	return s.row.ID // never changes after creation
}

// Order is the step's order in its process.
func (s *Step) Order() int {
	if s == nil {
		return 0
	}
	return s.row.StepOrder // never changes after creation
}

// Describe sets the step description.
func (s *Step) Describe(text string) {
	if s == nil {
		return
	}
	s.run.mu.Lock()
	s.row.Description = text
	s.run.mu.Unlock()
}

// SetExtra stores v, marshalled as JSON now, in the step's
// extra_informations.
func (s *Step) SetExtra(v any) {
	if s == nil {
		return
	}
	doc := marshal(v)
	s.run.mu.Lock()
	s.row.ExtraInformations = entities.JSONText(doc)
	s.run.mu.Unlock()
}

// Succeed records a successful registration named name.
func (s *Step) Succeed(name string, opts ...Option) {
	s.Register(true, name, opts...)
}

// Fail records a failed registration named name, with description saying
// what went wrong (JSON helps turn validation errors into one).
func (s *Step) Fail(name, description string, opts ...Option) {
	s.Register(false, name, append([]Option{Description(description)}, opts...)...)
}

// Register records a registration with the given success.
func (s *Step) Register(success bool, name string, opts ...Option) {
	if s == nil {
		return
	}
	reg := entities.RegistrationEvent{StepID: s.row.ID, Success: success, Name: name}
	for _, o := range opts {
		o(&reg)
	}
	r := s.run
	r.mu.Lock()
	defer r.mu.Unlock()
	// The id and time are taken under the lock, so registration order,
	// datetime order and id order agree.
	reg.ID = entities.NewID()
	reg.Datetime = r.cfg.Now().UTC()
	reg.CreatedBy = r.cfg.User
	r.regs = append(r.regs, reg)
}

// Outcome is the rolled-up result of the step so far (see
// entities.StepDetail.Outcome).
func (s *Step) Outcome() entities.Outcome {
	if s == nil {
		return entities.OutcomePending
	}
	r := s.run
	r.mu.Lock()
	d := entities.StepDetail{Step: s.row}
	for _, reg := range r.regs {
		if reg.StepID == s.row.ID {
			d.Registrations = append(d.Registrations, reg)
		}
	}
	r.mu.Unlock()
	return d.Outcome()
}

// Option adds details to a registration.
type Option func(*entities.RegistrationEvent)

// Description sets the registration's description.
func Description(text string) Option {
	return func(r *entities.RegistrationEvent) { r.Description = text }
}

// Extra stores v, marshalled as JSON, in the registration's
// extra_informations.
func Extra(v any) Option {
	doc := marshal(v)
	return func(r *entities.RegistrationEvent) { r.ExtraInformations = entities.JSONText(doc) }
}

// JSON returns v marshalled as JSON, for descriptions that carry
// structured data such as validation errors (drf-audit-trail stores
// json.dumps(serializer.errors)). A value that cannot be marshalled gives a
// JSON object naming the error.
func JSON(v any) string {
	return marshal(v)
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"audit_error": "value not serialisable as JSON: " + err.Error()})
	}
	return string(b)
}

type ctxKey struct{}

// NewContext returns a copy of ctx carrying run, so that the functions a
// background job calls can register on it with FromContext.
func NewContext(ctx context.Context, run *Run) context.Context {
	return context.WithValue(ctx, ctxKey{}, run)
}

// FromContext returns the run carried by ctx, or nil (whose methods do
// nothing).
func FromContext(ctx context.Context) *Run {
	r, _ := ctx.Value(ctxKey{}).(*Run)
	return r
}
