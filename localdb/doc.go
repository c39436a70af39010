// Package localdb is the lane's encrypted local store: every patient record
// in one SQLite file (modernc.org/sqlite, pure Go), each value carrying
// patient data sealed with AES-256-GCM, the keys held by the OS keychain,
// and nothing committed lost on a crash. *DB implements lane.Store and
// lane.SyncStore.
//
// # Files and connections
//
// The database is DATADIR/examlane.db (FileName; the data directory is
// chosen by cmd), with its -wal and -shm files beside it. It
// runs in WAL mode with synchronous=FULL (a commit is on disk before Commit
// returns), foreign_keys=ON, secure_delete=ON (freed pages are zeroed),
// temp_store=MEMORY and a 10 s busy timeout. Writes go through one
// connection (SetMaxOpenConns(1), BEGIN IMMEDIATE via _txlock=immediate),
// one transaction at a time; reads use a query-only pool. A record change,
// its outbox entry and its audit event are written in one transaction.
//
// The schema is embedded (migrations/NNN_name.sql, go:embed). Open applies
// the pending migrations in one transaction, records each in
// schema_migrations and the version in PRAGMA user_version, and sets PRAGMA
// application_id to "EXLN" (ApplicationID). A file from a newer Examlane
// (*SchemaError), another program's SQLite file or a non-database file
// (ErrNotExamlane) is refused before anything is written to it.
//
// # What is sealed, what is not
//
// Sealed (unreadable without the key): every field of every patient,
// appointment, encounter, measurement, spectacle and contact-lens
// prescription, image metadata and image bytes, annotation and raw
// instrument capture — each record is one JSON document (the lane value)
// sealed into the row's `sealed` column; the patient's search name
// (name_sealed); cached users' documents, password verifiers and TOTP
// secrets (three columns); audit event details and reasons; outbox actors
// (a deletion reason may quote the patient) and delivery errors; conflict
// copies (mine and theirs); tombstones (reason and prior version); the
// lane's Ed25519 audit-signing key.
//
// Not sealed (needed to find, order, sync and verify rows; no patient data):
// record ids (random UUIDs or server ids), patient ids on child rows,
// versions, key ids, the time a row changed, appointment start/end times and
// location (site) ids, image-chunk numbers, outbox entity names, ops and
// sequence numbers, server ids and versions, watermarks, audit metadata
// (seq, time, user id, role, lane, patient id, action, entity, outcome,
// hashes), checkpoint signatures, conflict and tombstone bookkeeping (who,
// when), and blind indexes. Value lengths are visible (no padding).
// Whole-disk encryption (BitLocker, FileVault, LUKS) is still required for
// what SQLite keeps outside the file format (free space of the file system,
// swap).
//
// One JSON document per row, rather than a sealed column per field, keeps
// the schema stable as lane types grow, costs one AES-GCM operation per
// record read, and leaves nothing per field for an observer to correlate.
// Exact-match lookups use blind indexes instead of plaintext columns.
//
// # Sealed value layout
//
//	0x01 ‖ key id (uint32 big endian) ‖ nonce (12 bytes) ‖ ciphertext ‖ GCM tag (16 bytes)
//
// The additional data is the 5-byte header followed by "examlane/seal/v1",
// the tenant (practice), table, row id and column, each prefixed by its
// length as a uvarint, and the row version as uint64 big endian (package
// seal, AAD.encode). A value copied to another row, column, table, version
// or practice, edited, truncated or opened with another key fails with an
// error wrapping lane.ErrUnauthenticated (*seal.Error); no unauthenticated
// byte is ever returned. Nonces are random (crypto/cipher
// NewGCMWithRandomNonce); rotate the data key well before 2^32 seals.
//
// # Key hierarchy
//
//	KEK (32 random bytes in the OS keychain, item "<db id>/kek" of service com.examlane.lane,
//	     or Argon2id(passphrase, salt, t=3, m=64 MiB, p=2) where the practice allows it)
//	  └─ wraps DEK_n (one random 256-bit data key per key id; table keys, column wrapped:
//	       0x01 ‖ nonce ‖ AES-256-GCM(KEK, DEK) ‖ tag, AAD "examlane/wrap/v1" ‖ "examlane-db:<db id>/key:<n>")
//	       ├─ seal key  = HKDF-SHA256(DEK, info "examlane/dek/seal/v1")        AES-256-GCM of values
//	       └─ index key = HKDF-SHA256(DEK, info "examlane/dek/blind-index/v1") HMAC-SHA256 blind indexes
//	Recovery public key (X25519, the practice's): every DEK is also sealed to it (column keys.recovery:
//	     0x01 ‖ ephemeral X25519 public ‖ nonce ‖ AES-256-GCM(HKDF-SHA256(ECDH, salt eph‖recipient,
//	     info "examlane/recovery/v1" ‖ context), DEK) ‖ tag)
//
// The kek table stores the source, the keychain item name or the Argon2id
// parameters and salt, and HMAC-SHA256(KEK, "examlane/kek-check/v1" ‖ db
// id), so a wrong key or passphrase is reported as such (seal.ErrWrongKey)
// rather than as damage. The keychain call runs with a timeout (package
// keychain); no keychain and no passphrase fallback means patient data stays
// closed (ErrNoKeySource). KeySource says which protection is in force. If
// the keychain loses the KEK, Recover opens the DEKs with the practice
// recovery private key and wraps them under a new KEK: no record is
// re-sealed and nothing unsynced is lost.
//
// RotateKey adds a new DEK, seals everything new under it, and re-seals old
// rows in batches of RotationBatch, one transaction each; the rotation
// table records that a rotation is under way, so a crash resumes it. Audit
// details are append-only and stay under the key that sealed them; old keys
// are marked retired, never destroyed.
//
// Blind indexes: HMAC-SHA256(index key, field ‖ 0 ‖ normalised value)
// truncated to 16 bytes, for MRN and for family name + birth date (case and
// white space folded). They reveal which rows share a value, nothing else;
// low-cardinality fields are never indexed. Matches are re-checked after
// decryption. Name search decrypts the names into memory once and keeps
// them up to date from a change sequence; DropCaches forgets them (call it
// when the lane locks).
//
// # Audit log
//
// audit_log is append-only (triggers refuse UPDATE and DELETE) and
// SHA-256 hash-chained over a canonical encoding of each event including
// its sealed detail; every CheckpointEvery events (and on Checkpoint) the
// head is signed with the lane's Ed25519 key. VerifyAudit walks the chain
// and names the first broken link. Deletions leave tombstones (who, when,
// why, the sealed prior version) and go to the outbox.
//
// # Threat model
//
// Protected against: theft or copying of the database, its WAL, a backup or
// a disk image without the keychain (or passphrase) — contents stay sealed;
// moving sealed values between rows, columns, tables, versions or practices;
// editing a sealed value (detected, never decrypted to garbage); editing,
// deleting or reordering audit events covered by a signed checkpoint; a
// hung or missing keychain (bounded wait, typed error); crashes and power
// loss after Commit returned (WAL + synchronous=FULL); a full disk or
// read-only directory (the change is refused, committed data intact).
//
// Not protected against: malware or a person running as the lane's OS user
// while it is unlocked (it can ask the keychain like the app does);
// rolling a whole row back to an older sealed version of itself (caught by
// the server's version check and the audit chain, not by AEAD); an attacker
// with the keys rewriting the audit suffix newer than the last checkpoint
// the server has seen (the server keeps the checkpoints); frequency analysis
// of blind indexes; the sizes and timing of records; what the OS writes to
// swap or crash dumps.
package localdb
