package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/examlane/examlane/cmd/examlane/internal/signin"
	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/ui"
)

// The lane's sign-in layer is what the lock screen verifies people with.
var _ ui.Authenticator = (*signin.Authenticator)(nil)

// userTokens hands the sync client (syncclient.Config.Tokens) the bearer
// tokens of the users signed in online. The sync client is built before
// the sign-in layer, which is set once it exists; until then, and for a
// user without a token, changes go without one (the server then records
// the user as asserted by the lane).
type userTokens struct {
	auth atomic.Pointer[signin.Authenticator]
}

// Token returns user's bearer token, or an error wrapping lane.ErrNotFound.
func (t *userTokens) Token(ctx context.Context, user lane.UserID) (string, error) {
	a := t.auth.Load()
	if a == nil {
		return "", fmt.Errorf("user token: sign-in not ready: %w", lane.ErrNotFound)
	}
	return a.BearerToken(ctx, user)
}

// newAuthenticator builds the sign-in layer of the app: cached users in db,
// online verification through the enrolled server (en nil: not enrolled,
// offline only), the shift length and offline window of the [session]
// configuration, and the ui package's errors so that the lock screen
// explains refusals.
func newAuthenticator(db *localdb.DB, en *syncclient.Enrollment, sess laneconfig.Session, laneName string, clock lane.Clock, logf func(string, ...any)) (*signin.Authenticator, error) {
	cfg := signin.Config{Store: db, Clock: clock, Lane: laneName, Shift: sess.ShiftLength.Std(), Logf: logf,
		Offline: auth.OfflinePolicy{Window: sess.OfflineSignIn.Std()},
		Errors:  signin.Errors{BadCredentials: ui.ErrBadCredentials, PINLockedOut: ui.ErrPINLockedOut, NoPIN: ui.ErrNoPIN}}
	if cfg.Offline.Window == 0 {
		cfg.Offline.Window = -time.Nanosecond // offline_sign_in = "0s": never offline
	}
	if en != nil {
		sc, err := en.Config()
		if err != nil {
			return nil, err
		}
		client, err := syncclient.NewSignInClient(syncclient.SignInConfig{ServerURL: sc.ServerURL, TLS: sc.TLS})
		if err != nil {
			return nil, err
		}
		cfg.Server = client
	}
	return signin.New(cfg)
}
