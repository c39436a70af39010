package main

// Build information, stamped at link time by the Makefile:
//
//	-X main.version=0.1.0 -X main.build=1 -X main.commit=3f2a1bc-dirty
//
// version and build come from [Details] in FyneApp.toml; commit is the short
// git hash, with "-dirty" when the work tree had uncommitted changes. A plain
// `go build` or `go run` leaves the defaults.
var (
	version = "dev"
	build   = ""
	commit  = "unknown"
)

// versionString returns the version with its build number, as in "0.1.0+1",
// or just the version when no build number was stamped.
func versionString() string {
	if build == "" {
		return version
	}
	return version + "+" + build
}

// versionLine is what --version prints: "examlane 0.1.0+1 (3f2a1bc)".
func versionLine() string {
	return "examlane " + versionString() + " (" + commit + ")"
}
