package audit

import (
	"fmt"
	"regexp"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/redact"
)

// SecretDetector finds secrets by the shape of their value, wherever they
// stand (Options.SecretDetectors). FindSecrets returns the byte ranges
// [start, end) of s to mask, or nil. It is called for every stored text
// value, from many goroutines at once, so it must be safe for concurrent
// use, and it should return quickly, without allocating, when s holds
// nothing it recognises: it runs on the request path.
type SecretDetector interface {
	FindSecrets(s string) [][2]int
}

// SecretDetectorFunc is a function used as a SecretDetector.
type SecretDetectorFunc func(s string) [][2]int

// FindSecrets calls f(s).
func (f SecretDetectorFunc) FindSecrets(s string) [][2]int { return f(s) }

// SecretPattern is a SecretDetector that masks every match of re.
func SecretPattern(re *regexp.Regexp) SecretDetector {
	return SecretDetectorFunc(func(s string) [][2]int {
		var out [][2]int
		for _, m := range re.FindAllStringIndex(s, -1) {
			out = append(out, [2]int{m[0], m[1]})
		}
		return out
	})
}

// DefaultSecretKeys returns the secret names masked when
// Options.SecretKeys is nil: passwords (password, passwd, passphrase,
// passcode, pass, pwd, pw), tokens and keys (secret, token, jwt, access,
// refresh, bearer, auth, authorization, apikey, accesskey, privatekey,
// privkey, signingkey, encryptionkey, masterkey, signature, sig,
// credential, csrf, xsrf), sessions (cookie, session, sid), one-time codes
// (otp, totp, hotp, pin, pincode) and payment and identity numbers
// (creditcard, cardnum, ccnum, cvv, cvv2, cvc, cvc2, securitycode, ssn,
// socialsecurity).
func DefaultSecretKeys() []string { return redact.DefaultKeys() }

func newRedactor(o Options) *redact.Redactor {
	cfg := redact.Config{
		Keys:             o.SecretKeys,
		AddKeys:          o.AddSecretKeys,
		RemoveKeys:       o.RemoveSecretKeys,
		DisableDetectors: o.DisableSecretDetectors,
	}
	for _, d := range o.SecretDetectors {
		if d != nil {
			cfg.Detectors = append(cfg.Detectors, d)
		}
	}
	return redact.NewWithConfig(cfg)
}

// cleanBatch masks secrets in every text column of b's rows before they
// are queued, so that neither the queue, the spool on disk nor the audit
// database ever holds them: values after secret names and shapes in free
// text (URL, errors, stack traces, names, descriptions), JSON columns
// member by member, with a note in place of what cannot be checked; then
// every value masked anywhere in the batch (e, which the request's query
// and bodies filled) is scrubbed from every column. It allocates nothing
// for rows that hold nothing to mask.
func (t *Trail) cleanBatch(b *entities.Batch, e *redact.Echoes) {
	r := t.policy.redactor
	for i := range b.Requests {
		q := &b.Requests[i]
		q.URL = r.Text(q.URL, e)
		q.UserID = r.Text(q.UserID, e)
		q.ErrorType = r.Text(q.ErrorType, e)
		q.ErrorMessage = r.Text(q.ErrorMessage, e)
		q.ErrorStacktrace = r.Text(q.ErrorStacktrace, e)
		t.cleanJSONColumn((*string)(&q.ExtraInformations), e, "extra information")
	}
	for i := range b.Logins {
		l := &b.Logins[i]
		l.UserID = r.Text(l.UserID, e)
		l.Username = r.Text(l.Username, e)
		t.cleanJSONColumn((*string)(&l.ExtraInformations), e, "extra information")
	}
	for i := range b.Processes {
		p := &b.Processes[i]
		t.cleanRowText(&p.Name, &p.Description, &p.CreatedBy, (*string)(&p.ExtraInformations), e)
	}
	for i := range b.Steps {
		s := &b.Steps[i]
		t.cleanRowText(&s.Name, &s.Description, &s.CreatedBy, (*string)(&s.ExtraInformations), e)
	}
	for i := range b.Registrations {
		g := &b.Registrations[i]
		t.cleanRowText(&g.Name, &g.Description, &g.CreatedBy, (*string)(&g.ExtraInformations), e)
	}
	if e.Len() > 0 {
		scrubEchoes(b, e)
	}
}

func (t *Trail) cleanRowText(name, description, createdBy, extra *string, e *redact.Echoes) {
	r := t.policy.redactor
	*name = r.Text(*name, e)
	*createdBy = r.Text(*createdBy, e)
	t.cleanDescription(description, e)
	t.cleanJSONColumn(extra, e, "extra information")
}

// cleanJSONColumn masks the secrets of a JSON column; JSON that cannot be
// parsed or is nested too deep to check is replaced by a JSON note.
func (t *Trail) cleanJSONColumn(v *string, e *redact.Echoes, what string) {
	if *v == "" {
		return
	}
	out, err := t.policy.redactor.JSON([]byte(*v), e)
	if err != nil {
		*v = jsonNote(what, len(*v), err)
		return
	}
	if string(out) != *v {
		*v = string(out)
	}
}

// cleanDescription masks a description: as JSON when it is a JSON
// document (such as process.JSON(validationErrors)), else as free text. A
// JSON description nested too deep to check, or invalid JSON that
// mentions a secret name, is replaced by a note.
func (t *Trail) cleanDescription(v *string, e *redact.Echoes) {
	r := t.policy.redactor
	s := *v
	if !redact.LooksLikeJSON(s) {
		*v = r.Text(s, e)
		return
	}
	out, err := r.JSON([]byte(s), e)
	switch {
	case err == nil:
		if string(out) != s {
			*v = string(out)
		}
	case err == redact.ErrTooDeep || r.Mentions(s):
		*v = fmt.Sprintf("[audit: description of %d bytes not stored: %s]", len(s), noteReason(err))
	default:
		*v = r.Text(s, e)
	}
}

func noteReason(err error) string {
	if err == redact.ErrTooDeep {
		return fmt.Sprintf("JSON nested deeper than %d levels cannot be checked for secrets", redact.MaxDepth)
	}
	return "not valid JSON, and it may hold secrets"
}

// jsonNote is the JSON text stored in place of a JSON column that could
// not be checked.
func jsonNote(what string, size int, err error) string {
	return fmt.Sprintf(`{"audit_note":"%s of %d bytes not stored: %s"}`, what, size, noteReason(err))
}

// scrubEchoes replaces, in every text column of b, the values masked
// anywhere in it.
func scrubEchoes(b *entities.Batch, e *redact.Echoes) {
	for i := range b.Requests {
		q := &b.Requests[i]
		for _, v := range []*string{&q.UserID, &q.URL, &q.QueryParams, &q.ErrorType, &q.ErrorMessage, &q.ErrorStacktrace} {
			*v = e.Scrub(*v)
		}
		for _, v := range []*string{&q.RequestBody, &q.ResponseBody, (*string)(&q.ExtraInformations)} {
			*v = e.ScrubJSON(*v)
		}
	}
	for i := range b.Logins {
		l := &b.Logins[i]
		l.UserID, l.Username = e.Scrub(l.UserID), e.Scrub(l.Username)
		l.ExtraInformations = entities.JSONText(e.ScrubJSON(string(l.ExtraInformations)))
	}
	scrub := func(name, description, createdBy, extra *string) {
		*name, *createdBy = e.Scrub(*name), e.Scrub(*createdBy)
		*description, *extra = e.ScrubJSON(*description), e.ScrubJSON(*extra)
	}
	for i := range b.Processes {
		p := &b.Processes[i]
		scrub(&p.Name, &p.Description, &p.CreatedBy, (*string)(&p.ExtraInformations))
	}
	for i := range b.Steps {
		s := &b.Steps[i]
		scrub(&s.Name, &s.Description, &s.CreatedBy, (*string)(&s.ExtraInformations))
	}
	for i := range b.Registrations {
		g := &b.Registrations[i]
		scrub(&g.Name, &g.Description, &g.CreatedBy, (*string)(&g.ExtraInformations))
	}
}
