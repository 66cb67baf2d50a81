package pdf

import (
	"bytes"
	"fmt"

	"github.com/gin-audit-trail/audit/entities"
)

// sealedRange follows the integrity digests of a report's rows (the
// digest_id of each row, docs/INTEGRITY.md), so that the report ends by
// naming the range of digests that cover it: `audit verify --from --to`
// over that range proves the rows untouched.
type sealedRange struct {
	first, last      entities.ID
	sealed, unsealed int
}

// add counts one row sealed by the digest id (nil: not sealed).
func (s *sealedRange) add(id *entities.ID) {
	if id == nil {
		s.unsealed++
		return
	}
	if s.sealed == 0 || bytes.Compare(id[:], s.first[:]) < 0 {
		s.first = *id
	}
	if s.sealed == 0 || bytes.Compare(id[:], s.last[:]) > 0 {
		s.last = *id
	}
	s.sealed++
}

// addRow counts a report row of a kind that carries a digest id.
func (s *sealedRange) addRow(r any) {
	switch x := r.(type) {
	case *entities.RequestEvent:
		s.add(x.DigestID)
	case *entities.LoginRow:
		s.add(x.DigestID)
	case *entities.ProcessDetail:
		s.add(x.Process.DigestID)
		for i := range x.Steps {
			s.add(x.Steps[i].Step.DigestID)
			for j := range x.Steps[i].Registrations {
				s.add(x.Steps[i].Registrations[j].DigestID)
			}
		}
	}
}

// line is the report's closing integrity line, "" when no row is sealed
// (a trail written without integrity).
func (s *sealedRange) line() string {
	if s.sealed == 0 {
		return ""
	}
	l := fmt.Sprintf("Integrity: %d rows sealed by digests %s to %s", s.sealed, s.first, s.last)
	if s.first == s.last {
		l = fmt.Sprintf("Integrity: %d rows sealed by digest %s", s.sealed, s.first)
	}
	if s.unsealed > 0 {
		l += fmt.Sprintf("; %d rows not sealed", s.unsealed)
	}
	return l + "."
}

// sealedLine draws the closing integrity line, if any.
func (d *doc) sealedLine(s *sealedRange) {
	if l := s.line(); l != "" {
		d.y += 6
		for _, w := range d.wrap(l, contentW, fontBody) {
			d.message(w)
		}
	}
}
