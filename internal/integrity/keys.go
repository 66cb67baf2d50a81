package integrity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ParsePrivateKey reads an Ed25519 private key: a PEM "PRIVATE KEY" block
// (PKCS #8, as `openssl genpkey -algorithm ed25519` and `audit keygen`
// write it), or the 32-byte seed or 64-byte key, raw or in base64.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("integrity: signing key: %w", err)
		}
		ek, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("integrity: signing key is a %T, not Ed25519", k)
		}
		return ek, nil
	}
	raw := decodeRaw(b)
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(raw), nil
	}
	return nil, errors.New("integrity: signing key: not a PEM PKCS #8 Ed25519 key, nor a 32-byte seed or 64-byte key")
}

// ParsePublicKey reads an Ed25519 public key: a PEM "PUBLIC KEY" block
// (PKIX), or the 32 bytes raw or in base64.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("integrity: public key: %w", err)
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("integrity: public key is a %T, not Ed25519", k)
		}
		return ek, nil
	}
	raw := decodeRaw(b)
	if len(raw) == ed25519.PublicKeySize {
		return ed25519.PublicKey(raw), nil
	}
	return nil, errors.New("integrity: public key: not a PEM PKIX Ed25519 key, nor 32 bytes")
}

// decodeRaw is b decoded from base64 when it is base64 text, else b.
func decodeRaw(b []byte) []byte {
	s := strings.TrimSpace(string(b))
	if d, err := base64.StdEncoding.DecodeString(s); err == nil && len(d) > 0 {
		return d
	}
	return b
}

// LoadPrivateKey reads the key in key, or when key is empty, in the file
// named path.
func LoadPrivateKey(key []byte, path string) (ed25519.PrivateKey, error) {
	if len(key) == 0 {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("integrity: read signing key: %w", err)
		}
		key = b
	}
	return ParsePrivateKey(key)
}

// LoadPublicKey reads the public key file at path.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("integrity: read public key: %w", err)
	}
	return ParsePublicKey(b)
}

// GenerateKey returns a new key pair as PEM: the private key (PKCS #8) and
// the public key (PKIX).
func GenerateKey() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	pb, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb}), nil
}

// PublicKeyPEM is the PEM form of priv's public key.
func PublicKeyPEM(priv ed25519.PrivateKey) ([]byte, error) {
	pb, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb}), nil
}
