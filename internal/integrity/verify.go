package integrity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// Problem kinds found by Verify.
const (
	RowChanged       = "row changed"          // a row's columns differ from what its batch sealed
	RowDeleted       = "row deleted"          // a row its batch sealed is gone
	RowAdded         = "row added"            // a row names a batch that did not seal it
	RowOrphan        = "row without digest"   // a row names a digest that does not exist
	RowUnsealed      = "row not sealed"       // a row names no digest at all
	DigestAltered    = "digest altered"       // a digest's fields do not match its hash
	ManifestDamaged  = "manifest damaged"     // a digest's stored manifest does not match its rows hash
	ChainGap         = "chain gap"            // digests of a chain are missing
	ChainBroken      = "chain broken"         // a digest does not link to the previous one of its chain
	SignatureMissing = "signature missing"    // a digest is not signed (a public key was given)
	SignatureBad     = "signature invalid"    // a digest's signature does not verify with the public key
	AnchorLost       = "anchored digest gone" // a chain head recorded by an earlier verification (an anchor) is missing or different
)

// Problem is one thing Verify found wrong, with where it is.
type Problem struct {
	Kind     string `json:"kind"`
	Table    string `json:"table,omitempty"`
	RowID    string `json:"row_id,omitempty"`
	DigestID string `json:"digest_id,omitempty"`
	ChainID  string `json:"chain_id,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// String is the problem on one line.
func (p Problem) String() string {
	s := p.Kind
	if p.Table != "" {
		s += " " + p.Table
	}
	if p.RowID != "" {
		s += " row " + p.RowID
	}
	if p.DigestID != "" {
		s += " digest " + p.DigestID
	}
	if p.ChainID != "" {
		s += fmt.Sprintf(" chain %s seq %d", p.ChainID, p.Seq)
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Options bound and configure a verification.
type Options struct {
	// From and To select the batches written in [From, To) (by their
	// digest ids, which are UUIDv7), and the unsealed rows whose datetime
	// is in that range. Zero values are open bounds.
	From, To time.Time
	// PublicKey, when set, requires every digest to carry a valid
	// Ed25519 signature by it.
	PublicKey ed25519.PublicKey
	// Progress, when set, is called with the rows checked since its last
	// call.
	Progress func(rows int64)
	// Problem receives every problem, as found.
	Problem func(Problem)
	// Anchor are chain heads recorded by an earlier verification (kept
	// outside the database): each must still be there, unchanged, so that
	// truncating a chain below what was once verified is seen.
	Anchor []Head
}

// Head is the last digest of a chain as a verification saw it.
type Head struct {
	ChainID string `json:"chain_id"`
	Seq     int64  `json:"seq"`
	Hash    string `json:"hash"` // hex
}

// Result sums up a verification.
type Result struct {
	Started, Finished time.Time
	Digests           int64 // digests checked
	Chains            int64 // chains seen
	Rows              int64 // rows checked
	Problems          int64 // problems found
	Unsigned          int64 // digests without a signature (counted as problems only with a public key)
	Purged            int64 // sealed rows removed by purges that recorded a checkpoint (not problems)
	FirstDigest       *entities.ID
	LastDigest        *entities.ID
	ByKind            map[string]int64
	// Heads are the last digest of every chain seen, for the next run's
	// Options.Anchor.
	Heads []Head
}

// OK reports whether nothing was found wrong.
func (r *Result) OK() bool { return r.Problems == 0 }

// Total is the rows the digests in the range cover: the progress bar's
// total.
func Total(ctx context.Context, db *gorm.DB, from, to time.Time) (int64, error) {
	where, args := digestRange(from, to)
	var n sql.NullInt64
	q := "SELECT sum(row_count) FROM audit_digests WHERE kind = '" + KindBatch + "'"
	if where != "" {
		q += " AND " + where
	}
	err := db.WithContext(ctx).Raw(q, args...).Row().Scan(&n)
	return n.Int64, err
}

// idBound is the smallest UUIDv7 of the millisecond of t, as text.
func idBound(t time.Time) string {
	var id entities.ID
	ms := uint64(t.UnixMilli())
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ms)
	copy(id[:6], b[2:])
	return id.String()
}

// digestRange is the condition on a digest id column selecting [from, to).
func digestRange(from, to time.Time) (string, []any) {
	return idRange("id", from, to)
}

func idRange(col string, from, to time.Time) (string, []any) {
	var conds []string
	var args []any
	if !from.IsZero() {
		conds = append(conds, col+" >= ?")
		args = append(args, idBound(from))
	}
	if !to.IsZero() {
		conds = append(conds, col+" < ?")
		args = append(args, idBound(to))
	}
	where := ""
	for i, c := range conds {
		if i > 0 {
			where += " AND "
		}
		where += c
	}
	return where, args
}

// verifier holds one run's state.
type verifier struct {
	opt  Options
	res  *Result
	snap *snapshot
	pg   bool
}

func (v *verifier) problem(p Problem) {
	v.res.Problems++
	if v.res.ByKind == nil {
		v.res.ByKind = map[string]int64{}
	}
	v.res.ByKind[p.Kind]++
	if v.opt.Problem != nil {
		v.opt.Problem(p)
	}
}

// Verify walks every chain and every batch in the range: it recomputes
// each digest's hash, checks the links and signatures of every chain, and
// recomputes the hash of every row, comparing each batch with the
// manifest its digest sealed. Memory stays constant: digests and rows are
// streamed in order (the database sorts), and one batch is held at a
// time. Every problem goes to Options.Problem; the error is for a failure
// to read the database.
func Verify(ctx context.Context, db *gorm.DB, opt Options) (Result, error) {
	res := Result{Started: time.Now().UTC()}
	sqlDB, err := db.DB()
	if err != nil {
		return res, err
	}
	pg := db.Dialector.Name() == "postgres"
	snap, err := openSnapshot(ctx, sqlDB, pg)
	if err != nil {
		return res, fmt.Errorf("audit verify: %w", err)
	}
	defer snap.close()
	v := &verifier{opt: opt, res: &res, snap: snap, pg: pg}
	if err := v.chains(ctx); err != nil {
		return res, fmt.Errorf("audit verify: %w", err)
	}
	if err := v.batches(ctx); err != nil {
		return res, fmt.Errorf("audit verify: %w", err)
	}
	if err := v.unsealed(ctx); err != nil {
		return res, fmt.Errorf("audit verify: %w", err)
	}
	res.Finished = time.Now().UTC()
	return res, nil
}

const digestHeader = "id, chain_id, seq, kind, created_at, row_count, rows_hash, prev_hash, note, hash, key_id, signature"

func scanDigest(rows *sql.Rows, d *Digest, extra ...any) error {
	return rows.Scan(append([]any{&d.ID, &d.ChainID, &d.Seq, &d.Kind, &d.CreatedAt, &d.RowCount, &d.RowsHash,
		&d.PrevHash, &d.Note, &d.Hash, &d.KeyID, &d.Signature}, extra...)...)
}

// chains is the first pass: digests in chain order.
func (v *verifier) chains(ctx context.Context) error {
	where, args := digestRange(v.opt.From, v.opt.To)
	q := "SELECT " + digestHeader + " FROM audit_digests"
	if where != "" {
		q += " WHERE " + where
	}
	rows, err := v.snap.query(ctx, q+" ORDER BY chain_id, seq", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var prev Digest
	var prevHash []byte
	have := false
	for rows.Next() {
		var d Digest
		if err := scanDigest(rows, &d); err != nil {
			return err
		}
		d.CreatedAt = d.CreatedAt.UTC()
		v.res.Digests++
		at := Problem{DigestID: d.ID.String(), ChainID: d.ChainID.String(), Seq: d.Seq}
		h := HashDigest(&d)
		if !hashEqual(h, d.Hash) {
			p := at
			p.Kind, p.Detail = DigestAltered, "its fields do not hash to its stored hash"
			v.problem(p)
		}
		v.checkSignature(&d, at)
		newChain := !have || prev.ChainID != d.ChainID
		if newChain {
			v.res.Chains++
			if d.Seq != 1 {
				if err := v.checkPredecessor(ctx, &d, h, at); err != nil {
					return err
				}
			} else if !hashEqual(d.PrevHash, zeroHash) {
				p := at
				p.Kind, p.Detail = ChainBroken, "the first digest of a chain must link to nothing"
				v.problem(p)
			}
		} else {
			switch {
			case d.Seq != prev.Seq+1:
				p := at
				p.Kind, p.Detail = ChainGap, fmt.Sprintf("digests %d to %d of the chain are missing", prev.Seq+1, d.Seq-1)
				v.problem(p)
			case !hashEqual(d.PrevHash, prevHash):
				p := at
				p.Kind, p.Detail = ChainBroken, fmt.Sprintf("it does not link to digest %s (seq %d)", prev.ID, prev.Seq)
				v.problem(p)
			}
		}
		if have && newChain {
			v.res.Heads = append(v.res.Heads, Head{ChainID: prev.ChainID.String(), Seq: prev.Seq, Hash: hex.EncodeToString(prevHash)})
		}
		prev, prevHash, have = d, h, true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if have {
		v.res.Heads = append(v.res.Heads, Head{ChainID: prev.ChainID.String(), Seq: prev.Seq, Hash: hex.EncodeToString(prevHash)})
	}
	rows.Close()
	return v.anchors(ctx)
}

// anchors checks that every head of Options.Anchor is still there,
// unchanged.
func (v *verifier) anchors(ctx context.Context) error {
	for _, a := range v.opt.Anchor {
		p := Problem{Kind: AnchorLost, ChainID: a.ChainID, Seq: a.Seq}
		rows, err := v.snap.lookupQuery(ctx, "SELECT "+digestHeader+" FROM audit_digests WHERE chain_id = ? AND seq = ?", a.ChainID, a.Seq)
		if err != nil {
			return err
		}
		if !rows.Next() {
			err := rows.Err()
			rows.Close()
			if err != nil {
				return err
			}
			p.Detail = "this digest was verified before and is gone: the chain was truncated"
			v.problem(p)
			continue
		}
		var d Digest
		err = scanDigest(rows, &d)
		rows.Close()
		if err != nil {
			return err
		}
		if hex.EncodeToString(HashDigest(&d)) != a.Hash {
			p.DigestID, p.Detail = d.ID.String(), "this digest differs from the one verified before"
			v.problem(p)
		}
	}
	return nil
}

// checkPredecessor checks the first digest of a chain in the range when
// its seq is not 1: its predecessor must exist (before the range) and be
// what it links to.
func (v *verifier) checkPredecessor(ctx context.Context, d *Digest, _ []byte, at Problem) error {
	rows, err := v.snap.lookupQuery(ctx, "SELECT "+digestHeader+" FROM audit_digests WHERE chain_id = ? AND seq = ?", d.ChainID.String(), d.Seq-1)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		p := at
		p.Kind, p.Detail = ChainGap, fmt.Sprintf("digests 1 to %d of the chain are missing", d.Seq-1)
		if d.Seq == 2 {
			p.Detail = "digest 1 of the chain is missing"
		}
		v.problem(p)
		return nil
	}
	var pd Digest
	if err := scanDigest(rows, &pd); err != nil {
		return err
	}
	if !hashEqual(d.PrevHash, HashDigest(&pd)) {
		p := at
		p.Kind, p.Detail = ChainBroken, fmt.Sprintf("it does not link to digest %s (seq %d)", pd.ID, pd.Seq)
		v.problem(p)
	}
	return nil
}

func (v *verifier) checkSignature(d *Digest, at Problem) {
	if len(d.Signature) == 0 {
		v.res.Unsigned++
		if v.opt.PublicKey != nil {
			p := at
			p.Kind, p.Detail = SignatureMissing, "a public key was given and this digest is not signed"
			v.problem(p)
		}
		return
	}
	if v.opt.PublicKey != nil && !SignatureValid(d, v.opt.PublicKey) {
		p := at
		p.Kind = SignatureBad
		p.Detail = "the signature does not verify with the public key " + KeyID(v.opt.PublicKey)
		if d.KeyID != "" && d.KeyID != KeyID(v.opt.PublicKey) {
			p.Detail += " (signed by key " + d.KeyID + ")"
		}
		v.problem(p)
	}
}

// batches is the second pass: digests in id order, merged with every
// table's rows in (digest_id, id) order.
func (v *verifier) batches(ctx context.Context) error {
	where, args := digestRange(v.opt.From, v.opt.To)
	q := "SELECT id, chain_id, seq, kind, row_count, rows_hash, manifest FROM audit_digests"
	if where != "" {
		q += " WHERE " + where
	}
	drows, err := v.snap.query(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return err
	}
	defer drows.Close()
	var streams []*rowStream
	defer func() {
		for _, s := range streams {
			_ = s.close()
		}
	}()
	rwhere, rargs := idRange("digest_id", v.opt.From, v.opt.To)
	for _, t := range Tables() {
		rows, err := v.snap.query(ctx, rowQuery(t, rwhere), rargs...)
		if err != nil {
			return err
		}
		streams = append(streams, newRowStream(t, rows))
	}
	var got []Entry
	var checked int64
	for drows.Next() {
		var d Digest
		if err := drows.Scan(&d.ID, &d.ChainID, &d.Seq, &d.Kind, &d.RowCount, &d.RowsHash, &d.Manifest); err != nil {
			return err
		}
		if v.res.FirstDigest == nil {
			id := d.ID
			v.res.FirstDigest = &id
		}
		last := d.ID
		v.res.LastDigest = &last
		got = got[:0]
		for _, s := range streams {
			for s.before(d.ID) {
				v.stray(s)
				checked++
				s.next()
			}
			for s.at(d.ID) {
				if s.cur.bad != "" {
					v.problem(Problem{Kind: RowChanged, Table: s.t.Name(), RowID: s.cur.id.String(), DigestID: d.ID.String(), Detail: s.cur.bad})
					// Its entry keeps a hash no manifest holds.
					s.cur.hash = [16]byte{}
				}
				got = append(got, Entry{Table: s.t, ID: s.cur.id, Hash: s.cur.hash})
				checked++
				s.next()
			}
		}
		if d.Kind == KindCheckpoint {
			// A purge's checkpoint holds no rows of its own: the batch it
			// amends is checked against it.
			for _, e := range got {
				v.problem(Problem{Kind: RowAdded, Table: e.Table.Name(), RowID: e.ID.String(), DigestID: d.ID.String(),
					ChainID: d.ChainID.String(), Seq: d.Seq, Detail: "it names a purge's checkpoint, which seals no row"})
			}
		} else if err := v.compare(ctx, &d, got); err != nil {
			return err
		}
		if v.opt.Progress != nil && checked >= 1000 {
			v.opt.Progress(checked)
			checked = 0
		}
		v.res.Rows += int64(len(got))
	}
	if err := drows.Err(); err != nil {
		return err
	}
	for _, s := range streams {
		for s.ok {
			v.stray(s)
			checked++
			s.next()
		}
		if err := s.close(); err != nil {
			return err
		}
	}
	streams = nil
	if v.opt.Progress != nil && checked > 0 {
		v.opt.Progress(checked)
	}
	return nil
}

// stray reports a row that names no digest, or one that does not exist.
func (v *verifier) stray(s *rowStream) {
	v.res.Rows++
	p := Problem{Table: s.t.Name(), RowID: s.cur.id.String()}
	if s.cur.digest == nil {
		p.Kind, p.Detail = RowUnsealed, "it names no digest: written without integrity, or added by hand"
	} else {
		p.Kind, p.DigestID, p.Detail = RowOrphan, s.cur.digest.String(), "the digest it names does not exist"
	}
	v.problem(p)
}

// compare checks the rows found for digest d against its rows hash and,
// when they differ, names each row that differs using the manifest (or,
// when purges removed rows of the batch, the manifest of the latest
// checkpoint that amends it).
func (v *verifier) compare(ctx context.Context, d *Digest, got []Entry) error {
	slices.SortFunc(got, compareEntries)
	if hashEqual(ManifestHash(EncodeManifest(got)), d.RowsHash) && int64(len(got)) == d.RowCount {
		return nil
	}
	at := Problem{DigestID: d.ID.String(), ChainID: d.ChainID.String(), Seq: d.Seq}
	sealed, ok := DecodeManifest(d.Manifest)
	if !ok || !hashEqual(ManifestHash(d.Manifest), d.RowsHash) {
		p := at
		p.Kind = ManifestDamaged
		p.Detail = fmt.Sprintf("the batch's rows do not match its rows hash (%d rows found, %d sealed), and its stored manifest does not either", len(got), d.RowCount)
		v.problem(p)
		return nil
	}
	sealed, err := v.amended(ctx, d, sealed, at)
	if err != nil {
		return err
	}
	i, j := 0, 0
	for i < len(sealed) || j < len(got) {
		var c int
		switch {
		case i == len(sealed):
			c = 1
		case j == len(got):
			c = -1
		default:
			c = compareEntries(sealed[i], got[j])
		}
		switch {
		case c < 0:
			v.problem(Problem{Kind: RowDeleted, Table: sealed[i].Table.Name(), RowID: sealed[i].ID.String(), DigestID: at.DigestID,
				ChainID: at.ChainID, Seq: at.Seq, Detail: "sealed by this digest and no longer in the table"})
			i++
		case c > 0:
			v.problem(Problem{Kind: RowAdded, Table: got[j].Table.Name(), RowID: got[j].ID.String(), DigestID: at.DigestID,
				ChainID: at.ChainID, Seq: at.Seq, Detail: "it names this digest, which did not seal it"})
			j++
		default:
			if sealed[i].Hash != got[j].Hash && !bytes.Equal(got[j].Hash[:], make([]byte, 16)) {
				v.problem(Problem{Kind: RowChanged, Table: got[j].Table.Name(), RowID: got[j].ID.String(), DigestID: at.DigestID,
					ChainID: at.ChainID, Seq: at.Seq, Detail: "its columns differ from what was sealed"})
			}
			i++
			j++
		}
	}
	return nil
}

// amended applies to sealed, the manifest of digest d, the checkpoints of
// purges that amend d, in order: each may only remove rows. It returns
// what the batch must hold now, and counts the rows lawfully purged.
func (v *verifier) amended(ctx context.Context, d *Digest, sealed []Entry, at Problem) ([]Entry, error) {
	rows, err := v.snap.lookupQuery(ctx, "SELECT "+digestHeader+", manifest FROM audit_digests WHERE amends = ? ORDER BY id", d.ID.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	current := sealed
	for rows.Next() {
		var a Digest
		if err := scanDigest(rows, &a, &a.Manifest); err != nil {
			return nil, err
		}
		p := at
		p.Detail = "checkpoint " + a.ID.String() + ": "
		note, ok := parseAmendment(a.Note)
		next, mok := DecodeManifest(a.Manifest)
		switch {
		case !ok || note.Amends != d.ID.String():
			p.Kind, p.Detail = DigestAltered, p.Detail+"its note does not name this batch"
		case !mok || !hashEqual(ManifestHash(a.Manifest), a.RowsHash) || !hashEqual(HashDigest(&a), a.Hash):
			p.Kind, p.Detail = ManifestDamaged, p.Detail+"its manifest does not match its hashes"
		case !subset(next, current):
			p.Kind, p.Detail = DigestAltered, p.Detail+"a purge may only remove rows, and this one adds or changes some"
		default:
			v.res.Purged += int64(len(current) - len(next))
			current = next
			continue
		}
		v.problem(p)
	}
	return current, rows.Err()
}

// subset reports whether every entry of a (sorted) is in b (sorted), with
// the same hash.
func subset(a, b []Entry) bool {
	j := 0
	for _, e := range a {
		for j < len(b) && compareEntries(b[j], e) < 0 {
			j++
		}
		if j == len(b) || b[j] != e {
			return false
		}
		j++
	}
	return true
}

// unsealed reports, for a verification with bounds, the rows of the range
// that name no digest (without bounds, the batch pass sees them first).
func (v *verifier) unsealed(ctx context.Context) error {
	if v.opt.From.IsZero() && v.opt.To.IsZero() {
		return nil
	}
	for _, t := range Tables() {
		where := "digest_id IS NULL"
		var args []any
		if !v.opt.From.IsZero() {
			where += " AND datetime >= ?"
			args = append(args, v.opt.From.UTC())
		}
		if !v.opt.To.IsZero() {
			where += " AND datetime < ?"
			args = append(args, v.opt.To.UTC())
		}
		rows, err := v.snap.lookupQuery(ctx, "SELECT id FROM "+t.Name()+" WHERE "+where+" ORDER BY id", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id entities.ID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			v.res.Rows++
			v.problem(Problem{Kind: RowUnsealed, Table: t.Name(), RowID: id.String(), Detail: "it names no digest: written without integrity, or added by hand"})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
