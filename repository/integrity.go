package repository

// Integrity makes the audit trail tamper-evident (docs/INTEGRITY.md):
// every written batch gets a digest, in the table audit_digests, holding
// the SHA-256 of each of its rows; digests are chained (each holds the
// hash of the one before it in its chain) and, with a signing key, signed
// with Ed25519. The command `audit verify` recomputes all of it and
// reports every row changed, deleted or added, every broken chain and
// every bad signature. Its zero value turns it off.
type Integrity struct {
	// Enabled seals every batch. Setting SigningKey or SigningKeyFile
	// enables it too.
	Enabled bool
	// SigningKey is an Ed25519 private key that signs every digest: a PEM
	// "PRIVATE KEY" block (PKCS #8, as `audit keygen` or `openssl genpkey
	// -algorithm ed25519` write it), or the 32-byte seed or 64-byte key,
	// raw or in base64. Keep it away from the audit database: whoever
	// holds it can rewrite the trail undetected.
	SigningKey []byte
	// SigningKeyFile names a file holding the SigningKey, read at Open.
	SigningKeyFile string
}

// On reports whether batches are sealed.
func (i Integrity) On() bool { return i.Enabled || len(i.SigningKey) > 0 || i.SigningKeyFile != "" }

// Signed reports whether digests are signed.
func (i Integrity) Signed() bool { return len(i.SigningKey) > 0 || i.SigningKeyFile != "" }
