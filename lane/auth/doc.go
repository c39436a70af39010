// Package auth holds the credential rules of an exam lane and its practice
// server, with the standard library only: RFC 6238 TOTP codes with replay
// protection, base32 secrets and otpauth:// URIs for authenticator apps, the
// password policy (after NIST SP 800-63B: length, a blocklist of common
// passwords and context words, no composition rules, no expiry), the
// lockout policy (an exponential delay after each failure, then a lock),
// the offline sign-in window and the PIN policy for resuming a locked shift.
//
// Nothing here keeps state: callers persist the last accepted TOTP step and
// the failure counts, and pass the time in (from a lane.Clock), so that
// tests control it. Password hashing (Argon2id) lives with the callers,
// because it needs golang.org/x/crypto.
package auth
