package localdb

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb/seal"
)

// KeySource is where a database's key-encryption key comes from. The app
// shows it plainly (Describe) so that a practice knows how its lane is
// protected.
type KeySource string

// Key sources.
const (
	// KeySourceKeychain: a random key kept in the OS keychain.
	KeySourceKeychain KeySource = "os-keychain"
	// KeySourcePassphrase: derived with Argon2id from the practice
	// passphrase (only where the practice allowed the fallback).
	KeySourcePassphrase KeySource = "passphrase"
	// KeySourceTestPassphrase: derived from EXAMLANE_TEST_PASSPHRASE in the
	// explicit test mode. Never for patient data.
	KeySourceTestPassphrase KeySource = "test-passphrase"
	// KeySourceUnsealed: nothing is encrypted (benchmarks only).
	KeySourceUnsealed KeySource = "unsealed-benchmark"
)

// Describe says in words how the data is protected.
func (k KeySource) Describe() string {
	switch k {
	case KeySourceKeychain:
		return "Patient data encrypted; key kept in the operating system keychain"
	case KeySourcePassphrase:
		return "Patient data encrypted; key derived from the practice passphrase (no keychain on this computer)"
	case KeySourceTestPassphrase:
		return "TEST MODE: key derived from EXAMLANE_TEST_PASSPHRASE; do not store real patient data"
	case KeySourceUnsealed:
		return "NOT ENCRYPTED: benchmark database; do not store patient data"
	}
	return "unknown key source " + string(k)
}

// KeySource reports where this database's key-encryption key comes from.
func (db *DB) KeySource() KeySource { return db.source }

var (
	// ErrNoKeySource: no keychain is reachable and the practice did not
	// allow the passphrase fallback, so patient data stays closed.
	ErrNoKeySource error = &kindError{"no OS keychain is reachable and the practice has not enabled the passphrase fallback: patient data stays closed", lane.ErrUnavailable}
	// ErrKeyMissing: the keychain answers but has no key for this database
	// (wiped, or the database came from another computer). Recover with the
	// practice recovery key: examlane db recover --recovery-key FILE.
	ErrKeyMissing error = &kindError{"the keychain has no key for this database (keychain wiped, or the database comes from another computer): recover it with 'examlane db recover --recovery-key FILE'", lane.ErrNotFound}
	// ErrPassphraseNeeded: the database is protected by the practice
	// passphrase and none was given.
	ErrPassphraseNeeded error = &kindError{"this database is protected by the practice passphrase and none was given", lane.ErrLocked}
)

// Test mode environment variables. A passphrase from the environment is
// accepted only when both are set.
const (
	EnvTestMode       = "EXAMLANE_TEST_MODE"
	EnvTestPassphrase = "EXAMLANE_TEST_PASSPHRASE"
)

// TestPassphraseFromEnv returns the test passphrase when the explicit test
// mode is on (EXAMLANE_TEST_MODE=1 and EXAMLANE_TEST_PASSPHRASE non-empty).
func TestPassphraseFromEnv() ([]byte, bool) {
	if os.Getenv(EnvTestMode) != "1" {
		return nil, false
	}
	p := os.Getenv(EnvTestPassphrase)
	if p == "" {
		return nil, false
	}
	return []byte(p), true
}

func keychainName(dbID string) string { return dbID + "/kek" }

func (db *DB) kekContext() []byte { return []byte("examlane-db:" + db.dbID) }

func (db *DB) wrapContext(keyID uint32) []byte {
	return []byte("examlane-db:" + db.dbID + "/key:" + strconv.FormatUint(uint64(keyID), 10))
}

// kekRow is the kek table.
type kekRow struct {
	source KeySource
	name   string
	kdf    seal.KDFParams
	check  []byte
}

func readKEKRow(ctx context.Context, q querier) (kekRow, bool, error) {
	var k kekRow
	var t, m, p int64
	err := q.QueryRowContext(ctx, `SELECT source, name, kdf_time, kdf_mem_kib, kdf_threads, kdf_salt, check_value FROM kek WHERE id = 1`).
		Scan(&k.source, &k.name, &t, &m, &p, &k.kdf.Salt, &k.check)
	if errors.Is(err, sql.ErrNoRows) {
		return k, false, nil
	}
	k.kdf.Time, k.kdf.MemoryKiB, k.kdf.Threads = uint32(t), uint32(m), uint8(p)
	return k, err == nil, err
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// unlock reads or creates the identity and keys of the database.
func (db *DB) unlock(ctx context.Context) error {
	meta, err := readMeta(ctx, db.w)
	if err != nil {
		return classify(err)
	}
	if meta["db_id"] == "" {
		return db.initialise(ctx)
	}
	db.dbID, db.tenant = meta["db_id"], meta["tenant"]
	if db.cfg.Tenant != "" && db.cfg.Tenant != db.tenant {
		return fmt.Errorf("database belongs to practice %q, not %q: %w", db.tenant, db.cfg.Tenant, lane.ErrForbidden)
	}
	k, ok, err := readKEKRow(ctx, db.w)
	if err != nil {
		return classify(err)
	}
	if !ok {
		return fmt.Errorf("key table missing: %w", ErrCorrupt)
	}
	if (k.source == KeySourceUnsealed) != db.cfg.UnsafeNoSeal {
		return fmt.Errorf("database sealing mode %q does not match the configuration: %w", k.source, lane.ErrInvalid)
	}
	if k.source == KeySourceUnsealed {
		db.keys, db.source = seal.NewPlainKeyring(), KeySourceUnsealed
		return db.loadIdentity(ctx)
	}
	kek, src, err := db.obtainKEK(k)
	if err != nil {
		return err
	}
	if err := seal.VerifyCheckValue(kek, db.kekContext(), k.check); err != nil {
		if src == KeySourceKeychain {
			return fmt.Errorf("the key in the keychain does not open this database: %w", err)
		}
		return fmt.Errorf("wrong passphrase: %w", err)
	}
	db.kek, db.source = kek, src
	if err := db.loadKeys(ctx); err != nil {
		return err
	}
	if err := db.loadIdentity(ctx); err != nil {
		return err
	}
	if db.cfg.RecoveryKey != nil {
		return db.SetRecoveryKey(ctx, db.cfg.RecoveryKey)
	}
	return nil
}

// obtainKEK gets the key-encryption key described by k from its source.
func (db *DB) obtainKEK(k kekRow) (seal.Key, KeySource, error) {
	var kek seal.Key
	switch k.source {
	case KeySourceKeychain:
		if db.cfg.Keychain == nil {
			return kek, "", fmt.Errorf("database key is in the OS keychain but no keychain was given: %w", lane.ErrUnavailable)
		}
		v, err := db.cfg.Keychain.Get(k.name)
		switch {
		case errors.Is(err, lane.ErrNotFound):
			return kek, "", ErrKeyMissing
		case err != nil:
			return kek, "", fmt.Errorf("OS keychain: %w", err)
		case len(v) != seal.KeySize:
			return kek, "", fmt.Errorf("keychain item %s holds %d bytes, not a key: %w", k.name, len(v), seal.ErrWrongKey)
		}
		copy(kek[:], v)
		return kek, KeySourceKeychain, nil
	case KeySourcePassphrase, KeySourceTestPassphrase:
		if db.cfg.Passphrase == nil {
			return kek, "", ErrPassphraseNeeded
		}
		if k.source == KeySourceTestPassphrase && !db.cfg.TestPassphrase {
			return kek, "", fmt.Errorf("this is a test-mode database: it opens only with %s=1: %w", EnvTestMode, lane.ErrForbidden)
		}
		pass, err := db.cfg.Passphrase()
		if err != nil {
			return kek, "", fmt.Errorf("passphrase: %w", err)
		}
		kek, err = seal.DeriveKEK(pass, k.kdf)
		if err != nil {
			return kek, "", err
		}
		return kek, k.source, nil
	}
	return kek, "", fmt.Errorf("unknown key source %q: %w", k.source, ErrCorrupt)
}

// newKEK creates a key-encryption key for a new database (or a recovered
// one): the OS keychain when reachable, else the passphrase when the
// practice allows it, else ErrNoKeySource.
func (db *DB) newKEK(ctx context.Context, tx *sql.Tx) (seal.Key, KeySource, error) {
	name := keychainName(db.dbID)
	var kcErr error
	if db.cfg.Keychain != nil {
		_, err := db.cfg.Keychain.Get(name)
		switch {
		case err == nil || errors.Is(err, lane.ErrNotFound):
			kek := seal.NewKey()
			if err := db.cfg.Keychain.Set(name, kek[:]); err != nil {
				return kek, "", fmt.Errorf("store key in the OS keychain: %w", err)
			}
			back, err := db.cfg.Keychain.Get(name)
			if err != nil || string(back) != string(kek[:]) {
				return kek, "", fmt.Errorf("the OS keychain did not keep the key (%v): %w", err, lane.ErrUnavailable)
			}
			return kek, KeySourceKeychain, db.writeKEKRow(ctx, tx, KeySourceKeychain, name, seal.KDFParams{}, kek)
		default:
			kcErr = err
		}
	}
	allowed := db.cfg.PassphraseFallback || db.cfg.TestPassphrase
	if !allowed || db.cfg.Passphrase == nil {
		if kcErr != nil {
			return seal.Key{}, "", fmt.Errorf("%w (keychain: %v)", ErrNoKeySource, kcErr)
		}
		return seal.Key{}, "", ErrNoKeySource
	}
	pass, err := db.cfg.Passphrase()
	if err != nil {
		return seal.Key{}, "", fmt.Errorf("passphrase: %w", err)
	}
	p := seal.DefaultKDF()
	if db.cfg.KDF != nil {
		p = *db.cfg.KDF
		if len(p.Salt) == 0 {
			p.Salt = seal.DefaultKDF().Salt
		}
	}
	kek, err := seal.DeriveKEK(pass, p)
	if err != nil {
		return kek, "", err
	}
	src := KeySourcePassphrase
	if db.cfg.TestPassphrase {
		src = KeySourceTestPassphrase
	}
	return kek, src, db.writeKEKRow(ctx, tx, src, "", p, kek)
}

func (db *DB) writeKEKRow(ctx context.Context, tx *sql.Tx, src KeySource, name string, p seal.KDFParams, kek seal.Key) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO kek(id, source, name, kdf_time, kdf_mem_kib, kdf_threads, kdf_salt, check_value, changed_at)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET source=excluded.source, name=excluded.name, kdf_time=excluded.kdf_time,
			kdf_mem_kib=excluded.kdf_mem_kib, kdf_threads=excluded.kdf_threads, kdf_salt=excluded.kdf_salt,
			check_value=excluded.check_value, changed_at=excluded.changed_at`,
		string(src), name, p.Time, p.MemoryKiB, p.Threads, p.Salt, seal.CheckValue(kek, db.kekContext()), db.now())
	return err
}

// initialise creates the identity and keys of a new database in one
// transaction.
func (db *DB) initialise(ctx context.Context) error {
	db.dbID = lane.NewID()
	db.tenant = db.cfg.Tenant
	if db.tenant == "" {
		db.tenant = "default"
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	defer tx.Rollback()
	for k, v := range map[string]string{"db_id": db.dbID, "tenant": db.tenant, "created_at": strconv.FormatInt(db.now(), 10)} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(k, v) VALUES (?, ?)`, k, v); err != nil {
			return classify(err)
		}
	}
	if db.cfg.UnsafeNoSeal {
		db.keys, db.source = seal.NewPlainKeyring(), KeySourceUnsealed
		if _, err := tx.ExecContext(ctx, `INSERT INTO kek(id, source, name, check_value, changed_at) VALUES (1, ?, '', x'', ?)`,
			string(KeySourceUnsealed), db.now()); err != nil {
			return classify(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO keys(key_id, wrapped, created_at) VALUES (1, x'', ?)`, db.now()); err != nil {
			return classify(err)
		}
	} else {
		kek, src, err := db.newKEK(ctx, tx)
		if err != nil {
			return err
		}
		db.kek, db.source = kek, src
		db.keys = seal.NewKeyring()
		if _, err := db.addDataKey(ctx, tx, 1); err != nil {
			return err
		}
	}
	if err := db.createIdentity(ctx, tx); err != nil {
		return err
	}
	if db.cfg.RecoveryKey != nil && !db.cfg.UnsafeNoSeal {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(k, v) VALUES ('recovery_pub', ?)`, string(seal.MarshalRecoveryPublic(db.cfg.RecoveryKey))); err != nil {
			return classify(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return classify(err)
	}
	return nil
}

// addDataKey makes a new data key id, wraps it under the KEK (and the
// recovery key when configured), stores it and installs it in the ring.
func (db *DB) addDataKey(ctx context.Context, tx *sql.Tx, id uint32) (seal.Key, error) {
	dek := seal.NewKey()
	wrapped, err := seal.Wrap(db.kek, dek, db.wrapContext(id))
	if err != nil {
		return dek, err
	}
	var rec []byte
	var fpr sql.NullString
	if pub := db.recoveryPub(ctx, tx); pub != nil {
		if rec, err = seal.WrapToRecovery(pub, dek, db.wrapContext(id)); err != nil {
			return dek, err
		}
		fpr = sql.NullString{String: seal.Fingerprint(pub), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO keys(key_id, wrapped, recovery, recovery_fpr, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, wrapped, rec, fpr, db.now()); err != nil {
		return dek, classify(err)
	}
	return dek, db.keys.Add(id, dek)
}

// recoveryPub returns the configured recovery key, or the one the database
// already uses (stored in meta), or nil.
func (db *DB) recoveryPub(ctx context.Context, q querier) *ecdh.PublicKey {
	if db.cfg.RecoveryKey != nil {
		return db.cfg.RecoveryKey
	}
	var pem string
	if err := q.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'recovery_pub'`).Scan(&pem); err != nil {
		return nil
	}
	pub, err := seal.ParseRecoveryPublic([]byte(pem))
	if err != nil {
		return nil
	}
	return pub
}

// loadKeys unwraps every data key and sets the current one (the newest).
func (db *DB) loadKeys(ctx context.Context) error {
	rows, err := db.w.QueryContext(ctx, `SELECT key_id, wrapped FROM keys ORDER BY key_id`)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	db.keys = seal.NewKeyring()
	var last uint32
	for rows.Next() {
		var id uint32
		var w []byte
		if err := rows.Scan(&id, &w); err != nil {
			return err
		}
		dek, err := seal.Unwrap(db.kek, w, db.wrapContext(id))
		if err != nil {
			return fmt.Errorf("data key %d: %w", id, err)
		}
		if err := db.keys.Add(id, dek); err != nil {
			return err
		}
		last = id
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	if last == 0 {
		return fmt.Errorf("no data keys: %w", ErrCorrupt)
	}
	return db.keys.SetCurrent(last)
}

// createIdentity makes the lane's Ed25519 audit-checkpoint key.
func (db *DB) createIdentity(ctx context.Context, tx *sql.Tx) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	kid := db.keys.Current()
	sealed, err := db.keys.SealWith(kid, db.aad("lane_identity", "1", "priv", 1), priv.Seed())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO lane_identity(id, version, key_id, pub, priv) VALUES (1, 1, ?, ?, ?)`,
		kid, []byte(pub), sealed); err != nil {
		return classify(err)
	}
	db.signPub, db.signPriv = pub, priv
	return nil
}

func (db *DB) loadIdentity(ctx context.Context) error { return db.loadIdentityTx(ctx, db.w) }

// SetRecoveryKey seals every data key to the practice recovery public key
// pub (replacing any previous recovery key) and records it, in one
// transaction.
func (db *DB) SetRecoveryKey(ctx context.Context, pub *ecdh.PublicKey) error {
	if db.source == KeySourceUnsealed {
		return nil
	}
	fpr := seal.Fingerprint(pub)
	return db.write(ctx, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM keys WHERE recovery_fpr IS NOT ? OR recovery IS NULL`, fpr).Scan(&n); err != nil {
			return err
		}
		var stored string
		_ = tx.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'recovery_pub'`).Scan(&stored)
		if n == 0 && stored == string(seal.MarshalRecoveryPublic(pub)) {
			return nil
		}
		for _, id := range db.keys.IDs() {
			dek, err := db.dataKey(ctx, tx, id)
			if err != nil {
				return err
			}
			rec, err := seal.WrapToRecovery(pub, dek, db.wrapContext(id))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE keys SET recovery = ?, recovery_fpr = ? WHERE key_id = ?`, rec, fpr, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(k, v) VALUES ('recovery_pub', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`,
			string(seal.MarshalRecoveryPublic(pub))); err != nil {
			return err
		}
		return tx.audit(lane.AuditEvent{User: "system", Action: lane.AuditSettings, Entity: "RecoveryKey/" + fpr, Outcome: lane.OutcomeSuccess,
			Detail: "data keys sealed to practice recovery key " + fpr})
	})
}

// RecoveryFingerprint returns the fingerprint of the recovery key every
// data key is sealed to, or "" when some data key has none.
func (db *DB) RecoveryFingerprint(ctx context.Context) (string, error) {
	fprs, err := queryStrings(ctx, db.r, `SELECT DISTINCT coalesce(recovery_fpr, '') FROM keys`)
	if err != nil || len(fprs) != 1 {
		return "", err
	}
	return fprs[0], nil
}

// dataKey unwraps data key id again from the table (keys are not kept
// outside the keyring's derived keys).
func (db *DB) dataKey(ctx context.Context, q querier, id uint32) (seal.Key, error) {
	var w []byte
	if err := q.QueryRowContext(ctx, `SELECT wrapped FROM keys WHERE key_id = ?`, id).Scan(&w); err != nil {
		return seal.Key{}, err
	}
	return seal.Unwrap(db.kek, w, db.wrapContext(id))
}

// Recover re-wraps every data key of the database at cfg.Path under a new
// key-encryption key after the old one was lost (keychain wiped, new
// computer), using the practice recovery private key. The new KEK comes from
// cfg like a new database's: the OS keychain when reachable, else the
// passphrase fallback. It returns the new key source.
func Recover(ctx context.Context, cfg Config, recovery *ecdh.PrivateKey) (KeySource, error) {
	cfg.NoCreate = true
	cfg = cfg.withDefaults()
	fresh, err := inspect(cfg.Path)
	if err != nil {
		return "", fmt.Errorf("localdb: recover: %w", err)
	}
	if fresh {
		return "", fmt.Errorf("localdb: recover %s: %w", cfg.Path, ErrNoDatabase)
	}
	db := &DB{path: cfg.Path, clock: cfg.Clock, cfg: cfg}
	db.w, err = sql.Open("sqlite", writerDSN(cfg.Path))
	if err != nil {
		return "", err
	}
	db.w.SetMaxOpenConns(1)
	defer db.w.Close()
	if _, _, err := migrate(ctx, db.w, migrationFS, db.now()); err != nil {
		return "", fmt.Errorf("localdb: recover: %w", classify(err))
	}
	meta, err := readMeta(ctx, db.w)
	if err != nil {
		return "", classify(err)
	}
	db.dbID, db.tenant = meta["db_id"], meta["tenant"]
	if db.dbID == "" {
		return "", fmt.Errorf("localdb: recover: database has no keys yet: %w", ErrNoDatabase)
	}
	fpr := seal.Fingerprint(recovery.PublicKey())
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return "", classify(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT key_id, recovery, coalesce(recovery_fpr, '') FROM keys ORDER BY key_id`)
	if err != nil {
		return "", classify(err)
	}
	deks := map[uint32]seal.Key{}
	for rows.Next() {
		var id uint32
		var rec []byte
		var f string
		if err := rows.Scan(&id, &rec, &f); err != nil {
			rows.Close()
			return "", err
		}
		if rec == nil {
			rows.Close()
			return "", fmt.Errorf("localdb: recover: data key %d was never sealed to a recovery key: %w", id, lane.ErrNotFound)
		}
		if f != fpr {
			rows.Close()
			return "", fmt.Errorf("localdb: recover: data key %d is sealed to recovery key %s, not %s: %w", id, f, fpr, seal.ErrWrongKey)
		}
		dek, err := seal.UnwrapWithRecovery(recovery, rec, db.wrapContext(id))
		if err != nil {
			rows.Close()
			return "", fmt.Errorf("localdb: recover: data key %d: %w", id, err)
		}
		deks[id] = dek
	}
	rows.Close()
	if len(deks) == 0 {
		return "", fmt.Errorf("localdb: recover: no data keys: %w", ErrCorrupt)
	}
	kek, src, err := db.newKEK(ctx, tx)
	if err != nil {
		return "", fmt.Errorf("localdb: recover: %w", err)
	}
	db.kek, db.source = kek, src
	db.keys = seal.NewKeyring()
	var last uint32
	for id, dek := range deks {
		w, err := seal.Wrap(kek, dek, db.wrapContext(id))
		if err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET wrapped = ? WHERE key_id = ?`, w, id); err != nil {
			return "", classify(err)
		}
		_ = db.keys.Add(id, dek)
		last = max(last, id)
	}
	_ = db.keys.SetCurrent(last)
	if err := db.loadIdentityTx(ctx, tx); err != nil {
		return "", err
	}
	wt := &wtx{Tx: tx, db: db, ctx: ctx}
	if err := wt.audit(lane.AuditEvent{User: "system", Action: lane.AuditKeyRotation, Entity: "KEK/" + string(src), Outcome: lane.OutcomeSuccess,
		Detail: "data keys recovered with practice recovery key " + fpr + " and re-wrapped under a new " + string(src) + " key"}); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", classify(err)
	}
	return src, nil
}

func (db *DB) loadIdentityTx(ctx context.Context, q querier) error {
	var ver int64
	var pub, sealed []byte
	if err := q.QueryRowContext(ctx, `SELECT version, pub, priv FROM lane_identity WHERE id = 1`).Scan(&ver, &pub, &sealed); err != nil {
		return fmt.Errorf("lane identity: %w", classify(err))
	}
	seed, err := db.keys.Open(db.aad("lane_identity", "1", "priv", ver), sealed)
	if err != nil {
		return fmt.Errorf("lane identity: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return fmt.Errorf("lane identity: %w", ErrCorrupt)
	}
	db.signPriv = ed25519.NewKeyFromSeed(seed)
	db.signPub = ed25519.PublicKey(pub)
	return nil
}

func readMeta(ctx context.Context, q querier) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT k, v FROM meta`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }
