package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"debug/pe"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/BurntSushi/toml"
)

// packageTools are the commands `make package package-windows` needs beyond
// make and go; `make setup` installs them.
var packageTools = []string{"tar", "xz", "zip", "dpkg-deb", "x86_64-w64-mingw32-gcc"}

// TestPackages builds the Linux and Windows packages with `make package
// package-windows` into a temporary directory and checks what is in them:
// the .tar.xz installs with its Makefile and its binary prints the stamped
// version, the .deb carries FyneApp.toml's version and installs under /usr,
// and the Windows zip holds a 64-bit GUI examlane.exe with its icon, version
// resource and manifest, linked to the libusb-1.0.dll beside it, and the
// licences. When EXAMLANE_PACKAGE_DIST names a directory of packages built
// earlier from the same tree (`make test` builds them before go test), the
// rebuilt packages must be byte for byte the same as those.
//
// It is skipped with -short. Outside `make test` it is also skipped when the
// packaging tools are missing; under `make test`, which installs them, a
// missing tool fails it.
func TestPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Linux and Windows packages (minutes); skipped with -short")
	}
	refDist := os.Getenv("EXAMLANE_PACKAGE_DIST")
	for _, tool := range append([]string{"make", "go"}, packageTools...) {
		if _, err := exec.LookPath(tool); err != nil {
			if refDist != "" {
				t.Fatalf("%s is not installed, but EXAMLANE_PACKAGE_DIST is set: `make setup` should have installed it", tool)
			}
			t.Skipf("%s is not installed; run `make setup` to build packages", tool)
		}
	}
	root := moduleRoot(t)
	meta := readFyneApp(t, root)
	commit := stampedCommit(t, root)

	tmp := t.TempDir()
	dist := filepath.Join(tmp, "dist")
	cmd := exec.Command("make", "--no-print-directory", "package", "package-windows",
		"DIST="+dist, "PKG_BUILD="+filepath.Join(tmp, "build"))
	cmd.Dir = root
	cmd.Env = withoutMakeVars(os.Environ())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package package-windows: %v\n%s", err, lastLines(out, 60))
	}

	tarName := fmt.Sprintf("examlane-%s-linux-amd64.tar.xz", meta.Version)
	debName := fmt.Sprintf("examlane_%s-%d_amd64.deb", meta.Version, meta.Build)
	zipName := fmt.Sprintf("examlane-%s-windows-amd64.zip", meta.Version)
	wantVersion := fmt.Sprintf("examlane %s+%d (%s)\n", meta.Version, meta.Build, commit)

	var linuxBinary []byte
	t.Run("tar.xz", func(t *testing.T) {
		linuxBinary = checkLinuxTar(t, root, filepath.Join(dist, tarName), meta, wantVersion)
	})
	t.Run("deb", func(t *testing.T) {
		checkDeb(t, root, filepath.Join(dist, debName), meta, linuxBinary)
	})
	t.Run("windows zip", func(t *testing.T) {
		checkWindowsZip(t, root, filepath.Join(dist, zipName), meta, commit)
	})
	t.Run("reproducible", func(t *testing.T) {
		if refDist == "" {
			t.Skip("EXAMLANE_PACKAGE_DIST is not set: no earlier build to compare with (`make test` sets it)")
		}
		for _, name := range []string{tarName, debName, zipName} {
			ref, err := os.ReadFile(filepath.Join(refDist, name))
			if err != nil {
				t.Errorf("reading the earlier build: %v", err)
				continue
			}
			got, err := os.ReadFile(filepath.Join(dist, name))
			if err != nil {
				t.Errorf("reading the rebuild: %v", err)
				continue
			}
			if !bytes.Equal(ref, got) {
				t.Errorf("%s: rebuild differs from %s (sha256 %x, %d bytes, vs %x, %d bytes): "+
					"the build is not reproducible, or the sources changed in between",
					name, refDist, sha256.Sum256(got), len(got), sha256.Sum256(ref), len(ref))
			}
		}
	})
}

// fyneApp is the part of FyneApp.toml's [Details] the packages carry.
type fyneApp struct {
	Name, ID, Version string
	Build             int
}

func readFyneApp(t *testing.T, root string) fyneApp {
	t.Helper()
	var meta struct{ Details fyneApp }
	if _, err := toml.DecodeFile(filepath.Join(root, "FyneApp.toml"), &meta); err != nil {
		t.Fatalf("reading FyneApp.toml: %v", err)
	}
	d := meta.Details
	if d.Name == "" || d.ID == "" || d.Version == "" || d.Build < 1 {
		t.Fatalf("FyneApp.toml [Details] = %+v, want Name, ID, Version and Build", d)
	}
	return d
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// stampedCommit returns the commit `make print-ldflags` stamps.
func stampedCommit(t *testing.T, root string) string {
	t.Helper()
	cmd := exec.Command("make", "-s", "--no-print-directory", "print-ldflags")
	cmd.Dir = root
	cmd.Env = withoutMakeVars(os.Environ())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make print-ldflags: %v\n%s", err, stderrOf(err))
	}
	m := regexp.MustCompile(`-X main\.commit=(\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("make print-ldflags = %q, want a -X main.commit=... flag", out)
	}
	return string(m[1])
}

// checkLinuxTar unpacks the tar.xz, checks its files, runs the binary's
// --version and the bundled Makefile's install and uninstall, and returns
// the binary.
func checkLinuxTar(t *testing.T, root, tarball string, meta fyneApp, wantVersion string) []byte {
	out := t.TempDir()
	runTool(t, "", "tar", "-C", out, "-xJf", tarball)

	// Every entry belongs to root and lies under one top directory.
	listing := runTool(t, "", "tar", "--numeric-owner", "-tvJf", tarball)
	top := "examlane-" + meta.Version + "/"
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "0/0" || !strings.HasPrefix(f[5], top) {
			t.Errorf("tar entry %q: want owner 0/0 and a path under %s", line, top)
		}
	}

	dir := filepath.Join(out, top)
	bin := filepath.Join(dir, "usr/local/bin/examlane")
	checkELF(t, bin)
	checkDesktopEntry(t, filepath.Join(dir, "usr/local/share/applications", meta.ID+".desktop"), meta)
	sameFile(t, filepath.Join(dir, "usr/local/share/pixmaps", meta.ID+".png"), filepath.Join(root, "assets/icon/Icon.png"))
	checkMetainfo(t, filepath.Join(dir, "usr/local/share/metainfo", meta.ID+".metainfo.xml"), meta)

	if got := runTool(t, "", bin, "--version"); got != wantVersion {
		t.Errorf("examlane --version = %q, want %q", got, wantVersion)
	}

	// The Makefile in the tarball installs and uninstalls all four files.
	dest := t.TempDir()
	installed := []string{
		"usr/bin/examlane",
		"usr/share/applications/" + meta.ID + ".desktop",
		"usr/share/pixmaps/" + meta.ID + ".png",
		"usr/share/metainfo/" + meta.ID + ".metainfo.xml",
	}
	env := withoutMakeVars(os.Environ())
	runToolEnv(t, dir, env, "make", "install", "DESTDIR="+dest, "PREFIX=/usr")
	for _, p := range installed {
		if _, err := os.Stat(filepath.Join(dest, p)); err != nil {
			t.Errorf("after make install: %v", err)
		}
	}
	runToolEnv(t, dir, env, "make", "uninstall", "DESTDIR="+dest, "PREFIX=/usr")
	for _, p := range installed {
		if _, err := os.Stat(filepath.Join(dest, p)); err == nil {
			t.Errorf("after make uninstall: %s is still there", p)
		}
	}

	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkELF checks that path is an executable x86-64 ELF binary.
func checkELF(t *testing.T, path string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o755 {
		t.Errorf("%s: mode %v, want 0755", filepath.Base(path), info.Mode().Perm())
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		t.Errorf("%s: ELF machine %v type %v, want an x86-64 executable", filepath.Base(path), f.Machine, f.Type)
	}
}

// checkDesktopEntry checks the desktop entry the fyne tool wrote from
// FyneApp.toml.
func checkDesktopEntry(t *testing.T, path string, meta fyneApp) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	group := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "["):
			group = line
		case group == "[Desktop Entry]" && strings.Contains(line, "="):
			k, v, _ := strings.Cut(line, "=")
			keys[k] = v
		}
	}
	for k, want := range map[string]string{
		"Type": "Application",
		"Name": meta.Name,
		"Exec": "examlane",
		"Icon": meta.ID,
	} {
		if keys[k] != want {
			t.Errorf("desktop entry %s=%q, want %q", k, keys[k], want)
		}
	}
	if !slices.Contains(strings.Split(keys["Categories"], ";"), "MedicalSoftware") {
		t.Errorf("desktop entry Categories=%q, want MedicalSoftware among them", keys["Categories"])
	}
}

// checkMetainfo checks the AppStream metainfo names the app and this
// version.
func checkMetainfo(t *testing.T, path string, meta fyneApp) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ID         string `xml:"id"`
		Launchable string `xml:"launchable"`
		Releases   []struct {
			Version string `xml:"version,attr"`
			Date    string `xml:"date,attr"`
		} `xml:"releases>release"`
	}
	if err := xml.Unmarshal(data, &c); err != nil {
		t.Fatalf("metainfo: %v", err)
	}
	if c.ID != meta.ID || c.Launchable != meta.ID+".desktop" {
		t.Errorf("metainfo id %q launchable %q, want %q and %q", c.ID, c.Launchable, meta.ID, meta.ID+".desktop")
	}
	if len(c.Releases) != 1 || c.Releases[0].Version != meta.Version ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\d$`).MatchString(c.Releases[0].Date) {
		t.Errorf("metainfo releases %+v, want one release %s with a date", c.Releases, meta.Version)
	}
}

// checkDeb checks the .deb's control fields and files, and that its binary
// is the one in the tar.xz.
func checkDeb(t *testing.T, root, deb string, meta fyneApp, linuxBinary []byte) {
	fields := map[string]string{}
	for _, f := range []string{"Package", "Version", "Architecture", "Depends", "Maintainer", "Description"} {
		fields[f] = strings.TrimSpace(runTool(t, "", "dpkg-deb", "--field", deb, f))
	}
	want := map[string]string{
		"Package":      "examlane",
		"Version":      fmt.Sprintf("%s-%d", meta.Version, meta.Build),
		"Architecture": "amd64",
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("control %s: %q, want %q", k, fields[k], v)
		}
	}
	for _, dep := range []string{"libc6", "libgl1", "libx11-6", "libusb-1.0-0"} {
		if !strings.Contains(fields["Depends"], dep) {
			t.Errorf("control Depends: %q, want %s among them", fields["Depends"], dep)
		}
	}
	if fields["Maintainer"] == "" || fields["Description"] == "" {
		t.Errorf("control Maintainer %q, Description %q: want both", fields["Maintainer"], fields["Description"])
	}

	listing := runTool(t, "", "dpkg-deb", "--contents", deb)
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "root/root" {
			t.Errorf("deb entry %q: want owner root/root", line)
			continue
		}
		if !strings.HasPrefix(f[0], "d") {
			files = append(files, strings.TrimPrefix(f[5], "./"))
		}
	}
	slices.Sort(files)
	wantFiles := []string{
		"usr/bin/examlane",
		"usr/share/applications/" + meta.ID + ".desktop",
		"usr/share/doc/examlane/copyright",
		"usr/share/icons/hicolor/512x512/apps/" + meta.ID + ".png",
		"usr/share/metainfo/" + meta.ID + ".metainfo.xml",
	}
	if !slices.Equal(files, wantFiles) {
		t.Errorf("deb files:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(wantFiles, "\n"))
	}

	dir := t.TempDir()
	runTool(t, "", "dpkg-deb", "--extract", deb, dir)
	checkELF(t, filepath.Join(dir, "usr/bin/examlane"))
	if linuxBinary != nil {
		got, err := os.ReadFile(filepath.Join(dir, "usr/bin/examlane"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, linuxBinary) {
			t.Error("the .deb's usr/bin/examlane differs from the tar.xz's binary")
		}
	}
	sameFile(t, filepath.Join(dir, "usr/share/icons/hicolor/512x512/apps", meta.ID+".png"), filepath.Join(root, "assets/icon/Icon.png"))
	checkMetainfo(t, filepath.Join(dir, "usr/share/metainfo", meta.ID+".metainfo.xml"), meta)
	checkDesktopEntry(t, filepath.Join(dir, "usr/share/applications", meta.ID+".desktop"), meta)
}

// checkWindowsZip checks the zip's files, the executable's PE headers and
// resources, its version stamp, the DLL, and the licence and notice files.
func checkWindowsZip(t *testing.T, root, path string, meta fyneApp, commit string) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[f.Name] = data
		names = append(names, f.Name)
	}
	wantNames := []string{"LICENSE.txt", "NOTICE.txt", "examlane.example.toml", "examlane.exe", "libusb-1.0.dll", "libusb-COPYING.txt"}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("zip holds %q, want %q", names, wantNames)
	}

	exe := files["examlane.exe"]
	if !bytes.HasPrefix(exe, []byte("MZ")) {
		t.Fatalf("examlane.exe starts % x, want MZ", exe[:min(len(exe), 2)])
	}
	// -X main.commit=... leaves the commit in the program's strings; the
	// Linux binary's --version shows the stamp as a whole.
	if !bytes.Contains(exe, []byte(commit)) {
		t.Errorf("examlane.exe does not contain the stamped commit %q", commit)
	}
	pf, err := pe.NewFile(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("examlane.exe: %v", err)
	}
	defer pf.Close()
	opt, ok := pf.OptionalHeader.(*pe.OptionalHeader64)
	if !ok || pf.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
		t.Fatalf("examlane.exe: machine %#x, optional header %T, want PE32+ for amd64 (0x8664)", pf.Machine, pf.OptionalHeader)
	}
	if opt.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Errorf("examlane.exe: subsystem %d, want %d (Windows GUI)", opt.Subsystem, pe.IMAGE_SUBSYSTEM_WINDOWS_GUI)
	}
	// ImportedLibraries is not implemented for PE; ImportedSymbols gives
	// "symbol:DLL" pairs.
	syms, err := pf.ImportedSymbols()
	if err != nil {
		t.Fatalf("examlane.exe imports: %v", err)
	}
	var libs []string
	for _, s := range syms {
		if _, dll, ok := strings.Cut(s, ":"); ok && !slices.Contains(libs, dll) {
			libs = append(libs, dll)
		}
	}
	if !slices.ContainsFunc(libs, func(l string) bool { return strings.EqualFold(l, "libusb-1.0.dll") }) {
		t.Errorf("examlane.exe imports %q, want libusb-1.0.dll among them", libs)
	}
	// Windows provides its system DLLs; a lib*.dll (MinGW's libssp-0.dll,
	// libgcc_s_seh-1.dll, libwinpthread-1.dll...) must ship in the zip.
	for _, l := range libs {
		if strings.HasPrefix(strings.ToLower(l), "lib") && files[strings.ToLower(l)] == nil {
			t.Errorf("examlane.exe imports %s, which is not in the zip", l)
		}
	}
	rsrc := pf.Section(".rsrc")
	if rsrc == nil {
		t.Fatal("examlane.exe has no .rsrc section: no icon or version resource")
	}
	res, err := rsrc.Data()
	if err != nil {
		t.Fatal(err)
	}
	types := resourceTypes(t, res)
	for id, what := range map[uint32]string{3: "RT_ICON", 14: "RT_GROUP_ICON", 16: "RT_VERSION", 24: "RT_MANIFEST"} {
		if !slices.Contains(types, id) {
			t.Errorf("examlane.exe resources have types %v, want %s (%d)", types, what, id)
		}
	}
	// The version resource carries FyneApp.toml's version and build as
	// "major.minor.patch.build", in UTF-16.
	combined := fmt.Sprintf("%s.%d", meta.Version, meta.Build)
	for _, s := range []string{"ProductVersion", combined, meta.Name} {
		if !bytes.Contains(res, utf16le(s)) {
			t.Errorf("examlane.exe version resource lacks %q", s)
		}
	}

	dll, err := pe.NewFile(bytes.NewReader(files["libusb-1.0.dll"]))
	if err != nil {
		t.Fatalf("libusb-1.0.dll: %v", err)
	}
	defer dll.Close()
	if dll.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || dll.Characteristics&pe.IMAGE_FILE_DLL == 0 {
		t.Errorf("libusb-1.0.dll: machine %#x characteristics %#x, want an amd64 DLL", dll.Machine, dll.Characteristics)
	}

	license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["LICENSE.txt"], license) {
		t.Error("LICENSE.txt differs from the repository's LICENSE")
	}
	example, err := os.ReadFile(filepath.Join(root, "cmd/internal/laneconfig/example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["examlane.example.toml"], example) {
		t.Error("examlane.example.toml differs from cmd/internal/laneconfig/example.toml")
	}
	if !bytes.Contains(files["libusb-COPYING.txt"], []byte("GNU LESSER GENERAL PUBLIC LICENSE")) {
		t.Error("libusb-COPYING.txt is not the LGPL")
	}
	notice := string(files["NOTICE.txt"])
	if strings.Contains(notice, "@") {
		t.Errorf("NOTICE.txt has an unreplaced placeholder:\n%s", notice)
	}
	for _, want := range []string{"Examlane " + meta.Version, "libusb-COPYING.txt", "Lesser General Public License",
		regexp.MustCompile(`libusb \d+\.\d+\.\d+`).FindString(notice), "https://"} {
		if want == "" || !strings.Contains(notice, want) {
			t.Errorf("NOTICE.txt lacks %q (the libusb version, source and licence):\n%s", want, notice)
		}
	}
}

// resourceTypes returns the type IDs in the root directory of a PE resource
// section (IMAGE_RESOURCE_DIRECTORY followed by its entries).
func resourceTypes(t *testing.T, res []byte) []uint32 {
	t.Helper()
	if len(res) < 16 {
		t.Fatalf("resource section of %d bytes", len(res))
	}
	named := int(binary.LittleEndian.Uint16(res[12:]))
	ids := int(binary.LittleEndian.Uint16(res[14:]))
	var types []uint32
	for i := named; i < named+ids; i++ {
		off := 16 + 8*i
		if off+8 > len(res) {
			t.Fatalf("resource directory entry %d past the end of the section", i)
		}
		types = append(types, binary.LittleEndian.Uint32(res[off:]))
	}
	return types
}

// utf16le encodes s as UTF-16, little-endian, as in Windows resources.
func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// sameFile fails t unless files a and b have the same contents.
func sameFile(t *testing.T, a, b string) {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Errorf("%s differs from %s", a, b)
	}
}

// runTool runs a command in dir and returns its standard output, failing t when
// it fails.
func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	return runToolEnv(t, dir, nil, name, args...)
}

// runToolEnv is runTool with the environment env (nil: this process's).
func runToolEnv(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.String()
}

// lastLines returns the last n lines of out.
func lastLines(out []byte, n int) []byte {
	lines := bytes.SplitAfter(out, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, nil)
}
