-- 001_initial: the first Examlane lane schema.
--
-- Conventions (see doc.go): every record table keeps its patient data in
-- `sealed` (AES-256-GCM, one JSON document per row); the plaintext columns are
-- ids, versions, key ids, timestamps needed for queries, and blind indexes.
-- Times are unix milliseconds (UTC).

CREATE TABLE meta (
	k TEXT PRIMARY KEY,
	v TEXT NOT NULL
) STRICT;

-- kek describes the key-encryption key of this database (never the key).
CREATE TABLE kek (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	source      TEXT NOT NULL,          -- os-keychain | passphrase | test-passphrase | unsealed-benchmark
	name        TEXT NOT NULL,          -- keychain item name
	kdf_time    INTEGER NOT NULL DEFAULT 0,
	kdf_mem_kib INTEGER NOT NULL DEFAULT 0,
	kdf_threads INTEGER NOT NULL DEFAULT 0,
	kdf_salt    BLOB,
	check_value BLOB NOT NULL,
	changed_at  INTEGER NOT NULL
) STRICT;

-- keys holds every data key, wrapped under the KEK and (when configured) to
-- the practice recovery public key.
CREATE TABLE keys (
	key_id       INTEGER PRIMARY KEY,
	wrapped      BLOB NOT NULL,
	recovery     BLOB,
	recovery_fpr TEXT,
	created_at   INTEGER NOT NULL,
	retired_at   INTEGER
) STRICT;

-- lane_identity is the lane's Ed25519 audit-checkpoint key; the private
-- half is sealed.
CREATE TABLE lane_identity (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL,
	key_id  INTEGER NOT NULL,
	pub     BLOB NOT NULL,
	priv    BLOB NOT NULL
) STRICT;

CREATE TABLE patients (
	id              TEXT PRIMARY KEY,
	version         INTEGER NOT NULL,
	key_id          INTEGER NOT NULL,
	sealed          BLOB NOT NULL,
	name_sealed     BLOB NOT NULL,      -- the name alone, for the in-memory name search
	bidx_mrn        BLOB,
	bidx_family_dob BLOB,
	chg             INTEGER NOT NULL,   -- change sequence for the name cache
	updated_at      INTEGER NOT NULL,
	deleted         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX patients_mrn ON patients(bidx_mrn);
CREATE INDEX patients_family_dob ON patients(bidx_family_dob);
-- Covering index for the name search: filling and refreshing the in-memory
-- name index reads only this index, never the records.
CREATE INDEX patients_names ON patients(chg, id, version, deleted, name_sealed);

CREATE TABLE appointments (
	id         TEXT PRIMARY KEY,
	patient_id TEXT NOT NULL REFERENCES patients(id),
	start_at   INTEGER NOT NULL,
	end_at     INTEGER NOT NULL,
	location   TEXT NOT NULL,
	version    INTEGER NOT NULL,
	key_id     INTEGER NOT NULL,
	sealed     BLOB NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX appointments_time ON appointments(start_at);
CREATE INDEX appointments_patient ON appointments(patient_id);

CREATE TABLE encounters (
	id         TEXT PRIMARY KEY,
	patient_id TEXT NOT NULL REFERENCES patients(id),
	version    INTEGER NOT NULL,
	key_id     INTEGER NOT NULL,
	sealed     BLOB NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX encounters_patient ON encounters(patient_id);

CREATE TABLE measurements (
	id           TEXT PRIMARY KEY,
	patient_id   TEXT NOT NULL REFERENCES patients(id),
	encounter_id TEXT NOT NULL,
	version      INTEGER NOT NULL,
	key_id       INTEGER NOT NULL,
	sealed       BLOB NOT NULL,
	updated_at   INTEGER NOT NULL,
	deleted      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX measurements_patient ON measurements(patient_id);

-- prescriptions holds spectacle (kind 'spectacle') and contact lens (kind
-- 'contact') prescriptions.
CREATE TABLE prescriptions (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL CHECK (kind IN ('spectacle', 'contact')),
	patient_id   TEXT NOT NULL REFERENCES patients(id),
	encounter_id TEXT NOT NULL,
	version      INTEGER NOT NULL,
	key_id       INTEGER NOT NULL,
	sealed       BLOB NOT NULL,
	updated_at   INTEGER NOT NULL,
	deleted      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX prescriptions_patient ON prescriptions(patient_id);

CREATE TABLE images (
	id           TEXT PRIMARY KEY,
	patient_id   TEXT NOT NULL REFERENCES patients(id),
	encounter_id TEXT NOT NULL,
	version      INTEGER NOT NULL,
	key_id       INTEGER NOT NULL,
	sealed       BLOB NOT NULL,
	updated_at   INTEGER NOT NULL,
	deleted      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX images_patient ON images(patient_id);

-- image_chunks holds image bytes in sealed chunks of at most 1 MiB; version
-- is the image version the bytes were written at.
CREATE TABLE image_chunks (
	image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
	n        INTEGER NOT NULL,
	version  INTEGER NOT NULL,
	key_id   INTEGER NOT NULL,
	data     BLOB NOT NULL,
	PRIMARY KEY (image_id, n)
) STRICT;

CREATE TABLE annotations (
	id         TEXT PRIMARY KEY,
	image_id   TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
	version    INTEGER NOT NULL,
	key_id     INTEGER NOT NULL,
	sealed     BLOB NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX annotations_image ON annotations(image_id);

-- captures keeps the exact bytes instruments sent, sealed with their
-- decoded readings; patient_id is '' while a capture waits to be assigned.
CREATE TABLE captures (
	id          TEXT PRIMARY KEY,
	patient_id  TEXT NOT NULL,
	version     INTEGER NOT NULL,
	key_id      INTEGER NOT NULL,
	sealed      BLOB NOT NULL,
	received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX captures_patient ON captures(patient_id, received_at);

-- users caches staff accounts for offline sign-in. verifier and totp are
-- sealed separately so the sign-in code can update one without the other.
CREATE TABLE users (
	id         TEXT PRIMARY KEY,
	version    INTEGER NOT NULL,
	key_id     INTEGER NOT NULL,
	sealed     BLOB NOT NULL,
	verifier   BLOB,
	totp       BLOB,
	bidx_login BLOB,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_login ON users(bidx_login);

-- sync_refs maps a local record to its server id and the last server
-- version known for it.
CREATE TABLE sync_refs (
	entity         TEXT NOT NULL,
	id             TEXT NOT NULL,
	server_id      TEXT NOT NULL,
	server_version TEXT NOT NULL,
	PRIMARY KEY (entity, id)
) STRICT;
CREATE INDEX sync_refs_server ON sync_refs(entity, server_id);

CREATE TABLE watermarks (
	k TEXT PRIMARY KEY,
	v TEXT NOT NULL
) STRICT;

CREATE TABLE outbox (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	entity        TEXT NOT NULL,
	entity_id     TEXT NOT NULL,
	op            TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
	idem_key      TEXT NOT NULL UNIQUE,
	local_version INTEGER NOT NULL,
	base_version  TEXT NOT NULL,
	patient_id    TEXT,                 -- set for patient records; blocks retention purge
	key_id        INTEGER NOT NULL,
	actor         BLOB NOT NULL,        -- sealed lane.Actor (its Reason may be patient data)
	created_at    INTEGER NOT NULL,
	attempts      INTEGER NOT NULL DEFAULT 0,
	last_error    BLOB,                 -- sealed, version = attempts
	parked        INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX outbox_entity ON outbox(entity, entity_id);
CREATE INDEX outbox_patient ON outbox(patient_id);

CREATE TABLE audit_log (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	at         INTEGER NOT NULL,        -- unix nanoseconds
	user_id    TEXT NOT NULL,
	role       TEXT NOT NULL,
	lane       TEXT NOT NULL,
	patient_id TEXT NOT NULL,
	action     TEXT NOT NULL,
	entity     TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	key_id     INTEGER NOT NULL,
	detail     BLOB NOT NULL,           -- sealed {reason, detail}
	prev_hash  BLOB NOT NULL,
	hash       BLOB NOT NULL
) STRICT;
CREATE INDEX audit_patient ON audit_log(patient_id);
CREATE INDEX audit_user ON audit_log(user_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

-- audit_checkpoints are Ed25519-signed statements of the chain head.
CREATE TABLE audit_checkpoints (
	seq  INTEGER PRIMARY KEY REFERENCES audit_log(seq),
	at   INTEGER NOT NULL,
	hash BLOB NOT NULL,
	sig  BLOB NOT NULL
) STRICT;
CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;

CREATE TABLE conflicts (
	id             TEXT PRIMARY KEY,
	entity         TEXT NOT NULL,
	entity_id      TEXT NOT NULL,
	patient_id     TEXT NOT NULL,
	theirs_version TEXT NOT NULL,
	version        INTEGER NOT NULL,
	key_id         INTEGER NOT NULL,
	sealed         BLOB NOT NULL,       -- {mine, theirs}
	detected_at    INTEGER NOT NULL,
	resolved_at    INTEGER,
	resolution     TEXT NOT NULL DEFAULT '',
	resolved_by    TEXT NOT NULL DEFAULT ''
) STRICT;

-- tombstones keep who deleted what, when, why, and the sealed prior version.
CREATE TABLE tombstones (
	entity     TEXT NOT NULL,
	id         TEXT NOT NULL,
	version    INTEGER NOT NULL,        -- the version of the deletion
	patient_id TEXT NOT NULL,
	deleted_at INTEGER NOT NULL,
	deleted_by TEXT NOT NULL,
	key_id     INTEGER NOT NULL,
	sealed     BLOB NOT NULL,           -- {reason, prior}
	PRIMARY KEY (entity, id, version)
) STRICT;

-- rotation records a data-key rotation in progress so it resumes after a
-- crash.
CREATE TABLE rotation (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	to_key     INTEGER NOT NULL,
	started_at INTEGER NOT NULL,
	resealed   INTEGER NOT NULL DEFAULT 0
) STRICT;
