package localdb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb/seal"
)

// User is a staff account cached on the lane for offline sign-in. Verifier
// (the password verifier, e.g. an Argon2id PHC string) and TOTPSecret are
// filled by the sign-in code; the store seals them (each in its own column)
// and never interprets them.
type User struct {
	ID          lane.UserID
	Login       string
	DisplayName string
	Roles       []lane.Role
	Disabled    bool
	// TOTPLastStep is the last accepted TOTP time step (replay protection).
	TOTPLastStep int64
	Verifier     []byte
	TOTPSecret   []byte

	Version int64
	Updated time.Time
}

// userDoc is the sealed main document of a user (without the secrets).
type userDoc struct {
	ID           lane.UserID
	Login        string
	DisplayName  string
	Roles        []lane.Role
	Disabled     bool
	TOTPLastStep int64
	Updated      time.Time
}

// SaveUser stores a user with optimistic concurrency (Version 0 creates).
// Logins are unique (case folded): another user with the same login is
// ErrConflict. The change is audited; users are mastered by the server, so
// nothing is queued for sync.
func (db *DB) SaveUser(ctx context.Context, by lane.Actor, u User) (User, error) {
	if err := checkActor(by); err != nil {
		return u, err
	}
	if u.ID == "" || seal.Normalize(u.Login) == "" {
		return u, lane.Invalidf("save user: missing id or login")
	}
	err := db.write(ctx, func(tx *wtx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM users WHERE id = ?`, string(u.ID)).Scan(&cur)
		exists := err == nil
		if err != nil && !noRows(err) {
			return err
		}
		switch {
		case !exists && u.Version != 0:
			return notFound("user", string(u.ID))
		case exists && cur != u.Version:
			return fmt.Errorf("user %s: have version %d, stored %d: %w", u.ID, u.Version, cur, lane.ErrConflict)
		}
		u.Version, u.Updated = cur+1, db.clock.Now()
		kid := db.keys.Current()
		doc, err := db.sealJSON(kid, db.aad("users", string(u.ID), "sealed", u.Version), userDoc{ID: u.ID, Login: u.Login,
			DisplayName: u.DisplayName, Roles: u.Roles, Disabled: u.Disabled, TOTPLastStep: u.TOTPLastStep, Updated: u.Updated})
		if err != nil {
			return err
		}
		ver, err := db.sealOptional(kid, db.aad("users", string(u.ID), "verifier", u.Version), u.Verifier)
		if err != nil {
			return err
		}
		totp, err := db.sealOptional(kid, db.aad("users", string(u.ID), "totp", u.Version), u.TOTPSecret)
		if err != nil {
			return err
		}
		bidx := db.keys.BlindIndex(kid, "login", u.Login)
		var other string
		err = tx.QueryRowContext(ctx, `SELECT id FROM users WHERE bidx_login = ? AND id != ?`, bidx, string(u.ID)).Scan(&other)
		if err == nil {
			return fmt.Errorf("login already used by user %s: %w", other, lane.ErrConflict)
		}
		if !noRows(err) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users(id, version, key_id, sealed, verifier, totp, bidx_login, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version, key_id = excluded.key_id,
			sealed = excluded.sealed, verifier = excluded.verifier, totp = excluded.totp, bidx_login = excluded.bidx_login,
			updated_at = excluded.updated_at`, string(u.ID), u.Version, kid, doc, ver, totp, bidx, db.now()); err != nil {
			return err
		}
		action := lane.AuditCreate
		if exists {
			action = lane.AuditUpdate
		}
		return tx.audit(auditFor(by, action, lane.EntityUser, string(u.ID), "", fmt.Sprintf("version %d", u.Version)))
	})
	if err != nil {
		return u, fmt.Errorf("localdb: save user: %w", err)
	}
	return u, nil
}

func (db *DB) sealOptional(kid uint32, a seal.AAD, v []byte) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return db.keys.SealWith(kid, a, v)
}

// GetUser returns a user by id.
func (db *DB) GetUser(ctx context.Context, id lane.UserID) (User, error) {
	return db.getUser(ctx, `id = ?`, string(id))
}

// UserByLogin returns the user with a login (case and white space folded).
func (db *DB) UserByLogin(ctx context.Context, login string) (User, error) {
	idx := db.keys.BlindIndexes("login", login)
	for _, b := range idx {
		u, err := db.getUser(ctx, `bidx_login = ?`, b)
		if errors.Is(err, lane.ErrNotFound) {
			continue
		}
		if err == nil && seal.Normalize(u.Login) != seal.Normalize(login) {
			continue
		}
		return u, err
	}
	return User{}, notFound("user with login", "(given)")
}

func (db *DB) getUser(ctx context.Context, where string, arg any) (User, error) {
	var u User
	var id string
	var sealed, ver, totp []byte
	err := db.r.QueryRowContext(ctx, `SELECT id, version, sealed, verifier, totp FROM users WHERE `+where, arg).
		Scan(&id, &u.Version, &sealed, &ver, &totp)
	if noRows(err) {
		id, _ := arg.(string) // a login's blind index is not worth printing
		return u, notFound("user", id)
	}
	if err != nil {
		return u, classify(err)
	}
	var d userDoc
	if err := db.openJSON(db.aad("users", id, "sealed", u.Version), sealed, &d); err != nil {
		return u, err
	}
	u.ID, u.Login, u.DisplayName, u.Roles, u.Disabled, u.TOTPLastStep, u.Updated = d.ID, d.Login, d.DisplayName, d.Roles, d.Disabled, d.TOTPLastStep, d.Updated
	if ver != nil {
		if u.Verifier, err = db.keys.Open(db.aad("users", id, "verifier", u.Version), ver); err != nil {
			return u, fmt.Errorf("localdb: user %s verifier: %w", id, err)
		}
	}
	if totp != nil {
		if u.TOTPSecret, err = db.keys.Open(db.aad("users", id, "totp", u.Version), totp); err != nil {
			return u, fmt.Errorf("localdb: user %s totp: %w", id, err)
		}
	}
	return u, nil
}

// ListUsers returns every cached user by login.
func (db *DB) ListUsers(ctx context.Context) ([]User, error) {
	ids, err := queryStrings(ctx, db.r, `SELECT id FROM users`)
	if err != nil {
		return nil, err
	}
	var out []User
	for _, id := range ids {
		u, err := db.GetUser(ctx, lane.UserID(id))
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return seal.Normalize(out[i].Login) < seal.Normalize(out[j].Login) })
	return out, nil
}
