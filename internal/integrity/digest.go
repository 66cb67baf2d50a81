package integrity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/gin-audit-trail/audit/entities"
)

// Digest kinds.
const (
	// KindBatch is the digest of one written batch: its manifest lists the
	// batch's rows.
	KindBatch = "batch"
	// KindCheckpoint is the digest a purge writes: its note says what the
	// purge removed, so that verification accepts the gap.
	KindCheckpoint = "checkpoint"
)

// Digest is one row of the digest table, audit_digests: the seal of one
// batch (or one purge), chained to the previous digest of its chain.
type Digest struct {
	ID        entities.ID  // UUIDv7; every row of the batch has it in digest_id
	ChainID   entities.ID  // random, one per committer and process start
	Seq       int64        // 1, 2, 3 ... within the chain
	Kind      string       // KindBatch or KindCheckpoint
	CreatedAt time.Time    // UTC, microseconds
	RowCount  int64        // rows in the manifest
	RowsHash  []byte       // SHA-256 of the manifest (ManifestHash)
	PrevHash  []byte       // Hash of the previous digest of the chain; 32 zero bytes for Seq 1
	Note      string       // a checkpoint's description (JSON); "" for a batch
	Hash      []byte       // SHA-256 of the fields above (HashDigest)
	KeyID     string       // the signing key's id (KeyID), "" when unsigned
	Signature []byte       // Ed25519 signature of Hash, nil when unsigned
	Manifest  []byte       // the batch's rows: table, id and hash of each (see Manifest)
	Amends    *entities.ID // a purge's checkpoint: the batch digest whose remaining rows Manifest lists (also in Note)
}

// zeroHash is PrevHash of a chain's first digest.
var zeroHash = make([]byte, sha256.Size)

// HashDigest is the digest's own hash: SHA-256 of
//
//	"audit-digest-v1" 0x00, id (16 bytes), chain id (16), seq (8, big-endian),
//	kind (uvarint length + bytes), created_at (8: microseconds since the
//	epoch), row count (8), rows hash (32), previous hash (32),
//	note (uvarint length + bytes).
//
// The manifest is covered through the rows hash; the signature and key id
// are not hashed.
func HashDigest(d *Digest) []byte {
	b := make([]byte, 0, 200+len(d.Kind)+len(d.Note))
	b = append(b, "audit-digest-v1\x00"...)
	b = append(b, d.ID[:]...)
	b = append(b, d.ChainID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(d.Seq))
	b = binary.AppendUvarint(b, uint64(len(d.Kind)))
	b = append(b, d.Kind...)
	b = binary.BigEndian.AppendUint64(b, uint64(d.CreatedAt.UnixMicro()))
	b = binary.BigEndian.AppendUint64(b, uint64(d.RowCount))
	b = append(b, fixed32(d.RowsHash)...)
	b = append(b, fixed32(d.PrevHash)...)
	b = binary.AppendUvarint(b, uint64(len(d.Note)))
	b = append(b, d.Note...)
	h := sha256.Sum256(b)
	return h[:]
}

// fixed32 is b cut or padded to 32 bytes, so that a damaged column still
// hashes (to a value that does not match).
func fixed32(b []byte) []byte {
	if len(b) == sha256.Size {
		return b
	}
	out := make([]byte, sha256.Size)
	copy(out, b)
	return out
}

// KeyID names an Ed25519 public key: the hex of the first 8 bytes of its
// SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// signedMessage is what a digest's signature signs.
func signedMessage(hash []byte) []byte {
	return append([]byte("audit-digest-signature-v1\x00"), hash...)
}

// sign fills d's KeyID and Signature with key.
func sign(d *Digest, key ed25519.PrivateKey, keyID string) {
	d.KeyID = keyID
	d.Signature = ed25519.Sign(key, signedMessage(d.Hash))
}

// SignatureValid reports whether d carries a signature of its Hash by pub.
func SignatureValid(d *Digest, pub ed25519.PublicKey) bool {
	return len(d.Signature) == ed25519.SignatureSize && ed25519.Verify(pub, signedMessage(d.Hash), d.Signature)
}

// hashEqual compares two hashes.
func hashEqual(a, b []byte) bool { return bytes.Equal(a, b) }
