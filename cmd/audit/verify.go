package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/spf13/cobra"
)

// errVerifyFailed is verify's error when the trail does not verify: the
// command exits 1 after printing what it found.
var errVerifyFailed = errors.New("verification failed")

func newVerifyCommand(g *globals) *cobra.Command {
	var from, to, pubPath, anchorPath string
	var maxShown int
	var noRecord bool
	cmd := &cobra.Command{
		Use:   "verify [--from T] [--to T] [--public-key FILE]",
		Short: "Check every sealed batch, chain and signature; exit 1 on any change",
		Long: `verify checks a trail written with Options.Integrity (docs/INTEGRITY.md).
It walks every chain of digests (each must link to the one before it, with
no gap), recomputes the hash of every digest and, with --public-key, checks
its Ed25519 signature, then recomputes the hash of every row and compares
each batch with what its digest sealed. It prints one line per problem, with
the table, row id, digest id and chain: every row changed, deleted, added to
a batch or written outside any batch, every digest altered or missing, every
broken chain and every bad or missing signature. It exits 0 only when
nothing is wrong.

--anchor FILE keeps, outside the database, the last digest of every chain
as this run saw it, and checks at the next run that each is still there:
deleting the newest batches of a chain after a verification is then seen.

--from and --to (RFC 3339 times, dates or ages, as for export) verify the
batches written in that range, and the unsealed rows whose datetime is in
it. Memory stays constant: the database sorts, and one batch is held at a
time. The result is recorded in the table audit_verifications (unless
--no-record), where the admin's health route and viewer show it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now().UTC()
			var opt integrity.Options
			var err error
			if opt.From, err = parseTime(from, now); err != nil {
				return err
			}
			if opt.To, err = parseTime(to, now); err != nil {
				return err
			}
			if pubPath != "" {
				if opt.PublicKey, err = integrity.LoadPublicKey(pubPath); err != nil {
					return err
				}
			}
			if anchorPath != "" {
				if opt.Anchor, err = readAnchor(anchorPath); err != nil {
					return err
				}
			}
			db, closeDB, err := g.open(false)
			if err != nil {
				return err
			}
			defer closeDB()
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			total, err := integrity.Total(ctx, db, opt.From, opt.To)
			if err != nil {
				return fmt.Errorf("audit verify: %w (is the database migrated?)", err)
			}
			bar := newProgress(cmd.ErrOrStderr(), "verify", "rows", total, g.progressInterval)
			opt.Progress = bar.Add
			shown := int64(0)
			opt.Problem = func(p integrity.Problem) {
				shown++
				if maxShown < 0 || shown <= int64(maxShown) {
					fmt.Fprintln(out, p.String())
				}
			}
			res, err := integrity.Verify(ctx, db, opt)
			if err != nil {
				return err
			}
			bar.Finish()
			if maxShown >= 0 && shown > int64(maxShown) {
				fmt.Fprintf(out, "... and %d more problems (--max-problems -1 prints all)\n", shown-int64(maxShown))
			}
			if opt.PublicKey == nil && res.Digests > res.Unsigned {
				fmt.Fprintf(out, "note: %d digests are signed; give --public-key to check their signatures\n", res.Digests-res.Unsigned)
			}
			fmt.Fprintln(out, res.Summary())
			if !noRecord {
				if err := integrity.Record(ctx, db, res, opt); err != nil {
					return err
				}
			}
			if !res.OK() {
				return errVerifyFailed
			}
			if anchorPath != "" && opt.From.IsZero() && opt.To.IsZero() {
				if err := writeAnchor(anchorPath, res.Heads); err != nil {
					return err
				}
				fmt.Fprintf(out, "anchor: the heads of %d chains written to %s\n", len(res.Heads), anchorPath)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first time included: batches written from then on (2025-01-31, RFC 3339 or 7d)")
	cmd.Flags().StringVar(&to, "to", "", "first time excluded (default: no bound)")
	cmd.Flags().StringVar(&pubPath, "public-key", "", "Ed25519 public key file (PEM) that must have signed every digest")
	cmd.Flags().IntVar(&maxShown, "max-problems", 1000, "problems printed (all are counted); -1 prints all")
	cmd.Flags().BoolVar(&noRecord, "no-record", false, "do not record the result in audit_verifications")
	cmd.Flags().StringVar(&anchorPath, "anchor", "", "a file outside the database with the chain heads of the last run: each must still be there (a truncated chain is seen); rewritten after a full run that holds")
	return cmd
}

func newKeygenCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Create an Ed25519 key pair that signs the integrity digests",
		Long: `keygen writes a new Ed25519 private key to FILE (PEM, PKCS #8, mode 0600)
and its public key to FILE.pub (PEM). Give the private key to the
application (Options.Integrity.SigningKeyFile, or AUDIT_SIGNING_KEY in the
demo) and the public key to whoever runs audit verify --public-key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub, err := integrity.GenerateKey()
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			if _, err := f.Write(priv); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if err := os.WriteFile(out+".pub", pub, 0o644); err != nil {
				return err
			}
			k, err := integrity.ParsePublicKey(pub)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key %s, public key %s.pub (key id %s)\n", out, out, integrity.KeyID(ed25519.PublicKey(k)))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "private key file to create (the public key goes to FILE.pub) (required)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// readAnchor reads the chain heads of an anchor file; a missing file is
// no anchor yet.
func readAnchor(path string) ([]integrity.Head, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var heads []integrity.Head
	if err := json.Unmarshal(b, &heads); err != nil {
		return nil, fmt.Errorf("anchor %s: %w", path, err)
	}
	return heads, nil
}

// writeAnchor replaces the anchor file with heads (write, sync, rename).
func writeAnchor(path string, heads []integrity.Head) error {
	b, err := json.MarshalIndent(heads, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
