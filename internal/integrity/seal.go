package integrity

import (
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"time"

	"github.com/gin-audit-trail/audit/entities"
)

// Sealer seals batches as the store writes them: it hashes their rows,
// names their digest, and keeps the chains. A chain is held by one
// transaction at a time, so the digests of a chain are written one after
// the other and no lock is held across transactions: N committers (and a
// spool replayer) use N chains. A chain whose transaction failed is given
// up, because its last digest may or may not have been committed; the
// next transaction starts a new chain. A Sealer is safe for concurrent
// use.
type Sealer struct {
	key   ed25519.PrivateKey // nil: digests are not signed
	keyID string
	now   func() time.Time

	mu   sync.Mutex
	free []*chain
}

// chain is the state of one chain between two of its digests.
type chain struct {
	id   entities.ID
	seq  int64  // of the last committed digest
	prev []byte // its hash
}

// NewSealer returns a Sealer that signs with key, or does not sign when key
// is nil.
func NewSealer(key ed25519.PrivateKey) *Sealer {
	s := &Sealer{now: time.Now}
	if key != nil {
		s.key = key
		s.keyID = KeyID(key.Public().(ed25519.PublicKey))
	}
	return s
}

// Signed reports whether the Sealer signs its digests.
func (s *Sealer) Signed() bool { return s.key != nil }

// Pending is a batch being sealed: its digest id is in every row's
// DigestID, and its rows' hashes are computed.
type Pending struct {
	ID      entities.ID
	entries []Entry
}

// Prepare hashes every row of b and sets DigestID of every row to a new
// digest id. It runs on the writer's goroutine, before the transaction.
func (s *Sealer) Prepare(b *entities.Batch) *Pending {
	p := &Pending{ID: entities.NewID()}
	id := &p.ID
	for i := range b.Requests {
		b.Requests[i].DigestID = id
	}
	for i := range b.Logins {
		b.Logins[i].DigestID = id
	}
	for i := range b.Processes {
		b.Processes[i].DigestID = id
	}
	for i := range b.Steps {
		b.Steps[i].DigestID = id
	}
	for i := range b.Registrations {
		b.Registrations[i].DigestID = id
	}
	p.entries = entriesOf(b)
	return p
}

// Rows is how many rows the digest will cover.
func (p *Pending) Rows() int { return len(p.entries) }

// Keep leaves in the digest only the rows for which keep returns true: a
// retried batch covers only the rows its own transaction inserted (the
// others were committed, with their digest, by an earlier attempt).
func (p *Pending) Keep(keep func(t Table, id entities.ID) bool) {
	out := p.entries[:0]
	for _, e := range p.entries {
		if keep(e.Table, e.ID) {
			out = append(out, e)
		}
	}
	p.entries = out
}

// Link is one chain lent to one transaction: Digest is the digest to
// insert in that transaction, and Done must be called with whether it
// committed.
type Link struct {
	Digest *Digest
	s      *Sealer
	c      *chain
}

// Link takes a chain for p's transaction and builds p's digest, the next
// of that chain, signed when the Sealer has a key.
func (s *Sealer) Link(p *Pending) *Link {
	c := s.take()
	m := EncodeManifest(p.entries)
	d := &Digest{
		ID:        p.ID,
		ChainID:   c.id,
		Seq:       c.seq + 1,
		Kind:      KindBatch,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond),
		RowCount:  int64(len(p.entries)),
		RowsHash:  ManifestHash(m),
		PrevHash:  c.prev,
		Manifest:  m,
	}
	d.Hash = HashDigest(d)
	if s.key != nil {
		sign(d, s.key, s.keyID)
	}
	return &Link{Digest: d, s: s, c: c}
}

// Checkpoint builds a checkpoint digest with note, on a chain of its own
// (see Link for Done).
func (s *Sealer) Checkpoint(note string) *Link {
	c := s.take()
	d := &Digest{
		ID:        entities.NewID(),
		ChainID:   c.id,
		Seq:       c.seq + 1,
		Kind:      KindCheckpoint,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond),
		RowsHash:  ManifestHash(nil),
		PrevHash:  c.prev,
		Note:      note,
	}
	d.Hash = HashDigest(d)
	if s.key != nil {
		sign(d, s.key, s.keyID)
	}
	return &Link{Digest: d, s: s, c: c}
}

// Done returns the chain: after a commit it continues from this digest;
// after a failure (the commit may or may not have happened) it is given
// up.
func (l *Link) Done(committed bool) {
	if l == nil || l.c == nil {
		return
	}
	c := l.c
	l.c = nil
	if !committed {
		return
	}
	c.seq = l.Digest.Seq
	c.prev = l.Digest.Hash
	l.s.mu.Lock()
	l.s.free = append(l.s.free, c)
	l.s.mu.Unlock()
}

// take lends a free chain, or starts a new one.
func (s *Sealer) take() *chain {
	s.mu.Lock()
	if n := len(s.free); n > 0 {
		c := s.free[n-1]
		s.free = s.free[:n-1]
		s.mu.Unlock()
		return c
	}
	s.mu.Unlock()
	var id entities.ID
	if _, err := rand.Read(id[:]); err != nil {
		panic("integrity: no random source for a chain id: " + err.Error())
	}
	id[6] = id[6]&0x0f | 0x40 // a version 4 UUID
	id[8] = id[8]&0x3f | 0x80
	return &chain{id: id, prev: zeroHash}
}

// Amender writes the checkpoint digests of one purge transaction, one
// after the other on one chain (see Sealer.Amender).
type Amender struct {
	s       *Sealer
	c       *chain
	seq     int64
	prev    []byte
	written bool
}

// Amender lends a chain to one purge transaction: each Amend is the next
// digest of that chain. Call Done with whether the transaction committed.
func (s *Sealer) Amender() *Amender {
	c := s.take()
	return &Amender{s: s, c: c, seq: c.seq, prev: c.prev}
}

// Amend is the checkpoint digest recording that a purge removed rows from
// the batch of digest amends: its manifest is what remains of the batch
// (current minus removed), and its note says which purge and which
// digest. Verification then holds the batch to that manifest.
func (a *Amender) Amend(amends entities.ID, current []Entry, removed map[Entry]bool, purge string) *Digest {
	var left []Entry
	n := 0
	for _, e := range current {
		k := e
		k.Hash = [16]byte{}
		if removed[k] {
			n++
			continue
		}
		left = append(left, e)
	}
	m := EncodeManifest(left)
	d := &Digest{
		ID:        entities.NewID(),
		ChainID:   a.c.id,
		Seq:       a.seq + 1,
		Kind:      KindCheckpoint,
		CreatedAt: a.s.now().UTC().Truncate(time.Microsecond),
		RowCount:  int64(len(left)),
		RowsHash:  ManifestHash(m),
		PrevHash:  a.prev,
		Note:      amendNote(amends, purge, n),
		Manifest:  m,
		Amends:    &amends,
	}
	d.Hash = HashDigest(d)
	if a.s.key != nil {
		sign(d, a.s.key, a.s.keyID)
	}
	a.seq, a.prev, a.written = d.Seq, d.Hash, true
	return d
}

// Done returns the chain, continued after a commit, given up otherwise.
func (a *Amender) Done(committed bool) {
	if a == nil || a.c == nil {
		return
	}
	c := a.c
	a.c = nil
	if !committed && a.written {
		return
	}
	if committed {
		c.seq, c.prev = a.seq, a.prev
	}
	a.s.mu.Lock()
	a.s.free = append(a.s.free, c)
	a.s.mu.Unlock()
}
