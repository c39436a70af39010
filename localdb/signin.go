package localdb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/examlane/examlane/lane"
)

// SignInState is the lane's sign-in bookkeeping for one cached user: when
// the server last verified them from this lane (the start of the offline
// window), the consecutive failures and lock of this lane's lockout, and
// the last TOTP step accepted here (replay protection offline). The
// sign-in layer owns its meaning; the store keeps it sealed, and writing
// it is not audited (the sign-in events themselves are).
type SignInState struct {
	LastOnline   time.Time `json:"last_online"`
	Failures     int       `json:"failures"`
	LastFailure  time.Time `json:"last_failure"`
	Locked       bool      `json:"locked"`
	LastTOTPStep int64     `json:"last_totp_step"`
}

// signInKey is the meta key of a user's sign-in state.
func signInKey(id lane.UserID) string { return "signin/" + string(id) }

// SignInState returns the sign-in state of user id; the zero state when
// none was saved. A state that no longer opens (tampered with, or moved
// from another row) is an error wrapping lane.ErrUnauthenticated: the
// caller must not treat it as "no failures".
func (db *DB) SignInState(ctx context.Context, id lane.UserID) (SignInState, error) {
	var st SignInState
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = ?`, signInKey(id)).Scan(&v)
	if noRows(err) {
		return st, nil
	}
	if err != nil {
		return st, classify(err)
	}
	sealed, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return st, fmt.Errorf("localdb: sign-in state of %s: %w", id, ErrCorrupt)
	}
	if err := db.openJSON(db.aad("meta", signInKey(id), "v", 0), sealed, &st); err != nil {
		return st, err
	}
	return st, nil
}

// SaveSignInState replaces the sign-in state of user id (sealed under the
// current data key, in the meta table).
func (db *DB) SaveSignInState(ctx context.Context, id lane.UserID, st SignInState) error {
	if id == "" {
		return lane.Invalidf("sign-in state: no user")
	}
	err := db.write(ctx, func(tx *wtx) error {
		sealed, err := db.sealJSON(db.keys.Current(), db.aad("meta", signInKey(id), "v", 0), st)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`,
			signInKey(id), base64.StdEncoding.EncodeToString(sealed))
		return err
	})
	if err != nil {
		return fmt.Errorf("localdb: save sign-in state: %w", err)
	}
	return nil
}

// errStateChanged aborts UpdateSignInState's write when fn fails.
var errStateChanged = errors.New("sign-in state update aborted")

// UpdateSignInState reads user id's state, applies fn and writes the
// result, all in one write transaction, so that concurrent sign-ins on
// one lane cannot both count from the same failure or accept the same
// TOTP step. An error from fn aborts the update and is returned.
func (db *DB) UpdateSignInState(ctx context.Context, id lane.UserID, fn func(*SignInState) error) (SignInState, error) {
	var out SignInState
	if id == "" {
		return out, lane.Invalidf("sign-in state: no user")
	}
	var fnErr error
	err := db.write(ctx, func(tx *wtx) error {
		a := db.aad("meta", signInKey(id), "v", 0)
		var v string
		err := tx.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = ?`, signInKey(id)).Scan(&v)
		switch {
		case noRows(err):
		case err != nil:
			return err
		default:
			sealed, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return fmt.Errorf("sign-in state of %s: %w", id, ErrCorrupt)
			}
			b, err := db.keys.Open(a, sealed)
			if err != nil {
				return fmt.Errorf("sign-in state of %s: %w", id, err)
			}
			if err := json.Unmarshal(b, &out); err != nil {
				return fmt.Errorf("sign-in state of %s: %w", id, ErrCorrupt)
			}
		}
		if fnErr = fn(&out); fnErr != nil {
			return errStateChanged
		}
		sealed, err := db.sealJSON(db.keys.Current(), a, out)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`,
			signInKey(id), base64.StdEncoding.EncodeToString(sealed))
		return err
	})
	if fnErr != nil {
		return out, fnErr
	}
	if err != nil {
		return out, fmt.Errorf("localdb: update sign-in state: %w", err)
	}
	return out, nil
}
