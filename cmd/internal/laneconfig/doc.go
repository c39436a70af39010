// Package laneconfig reads, checks and documents the lane configuration
// file, lane.toml: one TOML file per exam lane saying who the lane is
// ([lane]), which practice server it syncs with ([server]), the sign-in
// policy ([session]: lock_timeout 5m, shift_length 12h, offline_sign_in
// 7d), where its data lives and how the database key is kept ([data]:
// key_mode "keychain", or "passphrase-fallback" when the practice opts in;
// retention 30d), scheduled backups ([backup]: every 24h, keep 7), the
// diagnostic log ([log]: level info, 10 MiB × 5 files), the practice's
// instrument profile file ([devices]), the connected instruments
// ([[instrument]]: name, profile, port or folder, link overrides) and the
// camera folders it watches ([[camera]]). Example returns a commented
// example; Schema its JSON Schema; Defaults the defaults.
//
// The instrument models themselves (link settings, dialect, what they
// measure) belong to devices/profile: an [[instrument]] names a profile and
// says where the instrument is plugged in, and Parse checks the name against
// the built-in profiles plus the file devices.profiles names.
//
// Problems are reported as `FILE:LINE: key "x.y": problem`: syntax errors
// with the TOML decoder's position; unknown keys (MetaData.Undecoded, and a
// type check that names the expected type); out-of-range values, bad
// combinations and unknown profiles with the line of the key, found by a
// small scanner of the file.
//
// Load reads the file the way the app starts. A good file is copied to
// DATA-DIR/config.last-good.toml (without secrets); a missing or bad one
// falls back to that copy with warnings, so one bad edit does not stop a
// lane. DefaultPaths gives the per-OS default locations of the file, the
// data directory and the log directory.
//
// The package belongs to cmd: ui, devices, localdb and syncclient never
// import it; cmd/examlane turns a Config into their own configurations.
package laneconfig
