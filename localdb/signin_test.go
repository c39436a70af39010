package localdb_test

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
)

func TestSignInState(t *testing.T) {
	db := newDB(t)
	st, err := db.SignInState(ctx, "u-1")
	if err != nil || st != (localdb.SignInState{}) {
		t.Fatalf("no state yet: %+v %v", st, err)
	}
	want := localdb.SignInState{LastOnline: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Failures: 2,
		LastFailure: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), LastTOTPStep: 59000000}
	if err := db.SaveSignInState(ctx, "u-1", want); err != nil {
		t.Fatal(err)
	}
	got, err := db.SignInState(ctx, "u-1")
	if err != nil || !got.LastOnline.Equal(want.LastOnline) || got.Failures != 2 || got.LastTOTPStep != want.LastTOTPStep {
		t.Fatalf("read back %+v %v", got, err)
	}
	// Update is read-modify-write; an error from fn changes nothing.
	got, err = db.UpdateSignInState(ctx, "u-1", func(s *localdb.SignInState) error { s.Failures++; s.Locked = true; return nil })
	if err != nil || got.Failures != 3 || !got.Locked {
		t.Fatalf("update: %+v %v", got, err)
	}
	boom := errors.New("refused")
	if _, err := db.UpdateSignInState(ctx, "u-1", func(s *localdb.SignInState) error { s.Failures = 0; return boom }); !errors.Is(err, boom) {
		t.Fatalf("aborted update: %v", err)
	}
	if got, _ := db.SignInState(ctx, "u-1"); got.Failures != 3 {
		t.Fatalf("aborted update was written: %+v", got)
	}
	if err := db.SaveSignInState(ctx, "", want); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("no user: %v", err)
	}
	// Another user's state is separate.
	if other, _ := db.SignInState(ctx, "u-2"); other.Failures != 0 {
		t.Fatalf("u-2 sees u-1's state: %+v", other)
	}
	// A state copied to another user (e.g. to reset a lockout) does not open.
	raw, err := sql.Open("sqlite", "file:"+db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO meta(k, v) SELECT 'signin/u-3', v FROM meta WHERE k = 'signin/u-1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SignInState(ctx, "u-3"); !errors.Is(err, lane.ErrUnauthenticated) {
		t.Fatalf("moved state: %v, want ErrUnauthenticated", err)
	}
}
