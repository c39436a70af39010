package server

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/examlane/examlane/cmd/internal/atomicfile"
	"os"
	"path/filepath"
	"strings"

	"github.com/examlane/examlane/cmd/internal/passhash"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
)

// Credentials is what an administrator hands to a person after enrolling
// or resetting their sign-in: the login, the password when the server made
// one up (Temporary), and the new TOTP secret with its otpauth:// URI for
// the authenticator app.
type Credentials struct {
	UserID, Login string
	// Password is set only when the server generated it.
	Password  string
	Temporary bool
	Secret    []byte
	URI       string
}

// SetCredentials gives the account tenant/id a password and a new TOTP
// secret. An empty password generates a temporary one. The password must
// pass auth.DefaultPasswordPolicy (with the login, the person's name and
// the practice's name as context words). The last accepted TOTP step and
// any lockout of the login are cleared.
func (s *Server) SetCredentials(ctx context.Context, tenant, id, password string) (Credentials, error) {
	var u User
	var tenantName string
	var disabled bool
	err := s.db.r.QueryRowContext(ctx, `SELECT s.id, coalesce(s.login, ''), s.display_name, s.disabled, t.name FROM staff s JOIN tenants t ON t.id=s.tenant
		WHERE s.tenant=? AND s.id=?`, tenant, id).Scan(&u.ID, &u.Login, &u.Name, &disabled, &tenantName)
	if errors.Is(err, sql.ErrNoRows) {
		return Credentials{}, fmt.Errorf("credentials: user %q: %w", id, lane.ErrNotFound)
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("credentials: %w", err)
	}
	if u.Login == "" {
		return Credentials{}, fmt.Errorf("credentials: %w", lane.Invalidf("user %s has no login: set one with --login", id))
	}
	if disabled {
		return Credentials{}, fmt.Errorf("credentials: %w", lane.Invalidf("user %s is disabled", id))
	}
	c := Credentials{UserID: u.ID, Login: u.Login}
	if password == "" {
		if password, err = temporaryPassword(); err != nil {
			return c, err
		}
		c.Password, c.Temporary = password, true
	}
	password = passhash.Normalize(password)
	if err := auth.DefaultPasswordPolicy().Check(password, u.Login, u.Name, tenantName); err != nil {
		return Credentials{}, fmt.Errorf("credentials: %w", err)
	}
	phc, err := passhash.Hash(password, s.auth.params)
	if err != nil {
		return Credentials{}, fmt.Errorf("credentials: %w", err)
	}
	if c.Secret, err = auth.NewSecret(); err != nil {
		return Credentials{}, err
	}
	sealed, err := s.sealTOTP(tenant, id, c.Secret)
	if err != nil {
		return Credentials{}, err
	}
	issuer := strings.ReplaceAll(tenantName, ":", "-")
	if c.URI, err = s.auth.totp.URI(issuer, strings.ReplaceAll(u.Login, ":", "-"), c.Secret); err != nil {
		return Credentials{}, err
	}
	now := s.clock.Now().UnixMilli()
	err = s.db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE staff SET password_hash=?, totp_secret=?, updated=? WHERE tenant=? AND id=?`,
			[]byte(phc), sealed, now, tenant, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO staff_auth(tenant, id, totp_last_step, temporary, changed) VALUES(?,?,0,?,?)
			ON CONFLICT(tenant, id) DO UPDATE SET totp_last_step=0, temporary=excluded.temporary, changed=excluded.changed`,
			tenant, id, c.Temporary, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE tenant=? AND login=?`, tenant, normLogin(u.Login))
		return err
	})
	if err != nil {
		return Credentials{}, fmt.Errorf("credentials: %w", err)
	}
	return c, nil
}

// UnlockUser clears the failed sign-in record of the account's login, so
// that a locked or throttled account may sign in again at once.
func (s *Server) UnlockUser(ctx context.Context, tenant, id string) error {
	var login string
	err := s.db.r.QueryRowContext(ctx, `SELECT coalesce(login, '') FROM staff WHERE tenant=? AND id=?`, tenant, id).Scan(&login)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("unlock: user %q: %w", id, lane.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	return s.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE tenant=? AND login=?`, tenant, normLogin(login))
		return err
	})
}

// temporaryPassword returns a random password of four groups of four
// characters from an alphabet without look-alikes (about 82 bits).
func temporaryPassword() (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	for {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		var sb strings.Builder
		for i, x := range b {
			if i > 0 && i%4 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(alphabet[int(x)%len(alphabet)])
		}
		if auth.DefaultPasswordPolicy().Check(sb.String()) == nil {
			return sb.String(), nil
		}
	}
}

// DemoAccountsFile is the file, in the server's data directory, where
// SeedDemoAccounts lists the demo practice's sign-in accounts with their
// password and TOTP secret (mode 0600). Demo data only: `examlane demo
// totp LOGIN` reads it to print the current code.
const DemoAccountsFile = "demo-accounts.json"

// DemoPassword is the password of every demo account.
const DemoPassword = "quiet-lantern-harbor"

// DemoAccount is one entry of DemoAccountsFile.
type DemoAccount struct {
	UserID   string      `json:"user_id"`
	Login    string      `json:"login"`
	Name     string      `json:"name"`
	Roles    []lane.Role `json:"roles"`
	Password string      `json:"password"`
	// TOTPSecret is base32; TOTPURI enrols it in an authenticator app.
	TOTPSecret string `json:"totp_secret"`
	TOTPURI    string `json:"totp_uri"`
}

// DemoAccounts is the content of DemoAccountsFile.
type DemoAccounts struct {
	Tenant   string        `json:"tenant"`
	Note     string        `json:"note"`
	Accounts []DemoAccount `json:"accounts"`
}

// SeedDemoAccounts gives every enabled account of a demo tenant that has a
// login and no password yet the password DemoPassword and a new TOTP
// secret, and writes all of them to DemoAccountsFile in the data
// directory (replacing it). It refuses tenants without seeded demo data.
func (s *Server) SeedDemoAccounts(ctx context.Context, tenant string) (DemoAccounts, error) {
	out := DemoAccounts{Tenant: tenant, Note: "synthetic demo practice: these accounts must never hold real patient data"}
	ids, err := findByIdentifier(ctx, s.db.r, tenant, "Location", identifierQuery{param: "_tag", system: sysSynthetic, hasSystem: true, value: "demo"}, 1)
	if err != nil {
		return out, fmt.Errorf("demo accounts: %w", err)
	}
	if len(ids) == 0 {
		return out, fmt.Errorf("demo accounts: %w", lane.Invalidf("tenant %s holds no demo practice (practiced seed --demo)", tenant))
	}
	users, err := s.Users(ctx, tenant)
	if err != nil {
		return out, err
	}
	old := map[string]DemoAccount{}
	if b, err := os.ReadFile(filepath.Join(s.dir, DemoAccountsFile)); err == nil {
		var prev DemoAccounts
		if json.Unmarshal(b, &prev) == nil && prev.Tenant == tenant {
			for _, a := range prev.Accounts {
				old[a.UserID] = a
			}
		}
	}
	for _, u := range users {
		if u.Login == "" || u.Disabled {
			continue
		}
		var hasPW bool
		if err := s.db.r.QueryRowContext(ctx, `SELECT password_hash IS NOT NULL FROM staff WHERE tenant=? AND id=?`, tenant, u.ID).Scan(&hasPW); err != nil {
			return out, fmt.Errorf("demo accounts: %w", err)
		}
		a, known := old[u.ID]
		if !hasPW || !known {
			c, err := s.SetCredentials(ctx, tenant, u.ID, DemoPassword)
			if err != nil {
				return out, err
			}
			a = DemoAccount{TOTPSecret: auth.EncodeSecret(c.Secret), TOTPURI: c.URI}
		}
		a.UserID, a.Login, a.Name, a.Roles, a.Password = u.ID, u.Login, u.Name, u.Roles, DemoPassword
		out.Accounts = append(out.Accounts, a)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return out, err
	}
	if err := replaceFile(filepath.Join(s.dir, DemoAccountsFile), append(b, '\n'), 0o600); err != nil {
		return out, fmt.Errorf("demo accounts: %w", err)
	}
	return out, nil
}

// replaceFile writes path atomically (a synced temporary file renamed over
// it), replacing what was there.
func replaceFile(path string, b []byte, perm os.FileMode) error {
	return atomicfile.ReplaceBytes(path, b, perm)
}
