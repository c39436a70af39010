package imaging_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/examlane/examlane/devices/imaging"
)

// TestGenScript runs testdata/gen.sh in a scratch directory and checks
// that every fixture it makes decodes to the same metadata and pixels as
// the committed one (bytes may differ: dcmtk stamps versions and dates).
// It is skipped in -short mode and when dcmtk or ImageMagick is missing.
func TestGenScript(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerates fixtures; skipped in -short mode")
	}
	for _, tool := range []string{"img2dcm", "dcmdjpeg", "dcmconv", "dcmcjpeg", "dcmcjpls", "dcmodify", "dcmdump", "dcm2pnm", "convert", "go", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (dcmtk and imagemagick regenerate the fixtures)", tool)
		}
	}
	dir := t.TempDir()
	for _, f := range []string{"gen.sh", "mksrc/main.go", "mkdcm/main.go"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", "gen.sh")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, out)
	}
	made, _ := filepath.Glob(filepath.Join(dir, "*.dcm"))
	if len(made) < 14 {
		t.Fatalf("gen.sh made %d DICOM files, want 14", len(made))
	}
	d := imaging.New(imaging.Config{})
	for _, f := range made {
		name := filepath.Base(f)
		fresh, _ := os.ReadFile(f)
		a, errA := d.Decode(readFile(t, name))
		b, errB := d.Decode(fresh)
		if (errA == nil) != (errB == nil) {
			t.Errorf("%s: committed decodes with %v, regenerated with %v", name, errA, errB)
			continue
		}
		a.Meta.SHA256, b.Meta.SHA256, a.Meta.Size, b.Meta.Size = [32]byte{}, [32]byte{}, 0, 0
		if a.Meta != b.Meta || a.Patient != b.Patient {
			t.Errorf("%s: metadata differs:\n committed   %+v\n regenerated %+v", name, a.Meta, b.Meta)
		}
		if a.Image != nil {
			if mean, mx := diff(t, a.Image, b.Image); mx != 0 {
				t.Errorf("%s: pixels differ (mean %.2f, max %d)", name, mean, mx)
			}
		}
	}
	for _, f := range []string{"src_rgb.png", "src_gray.png", "ref_native_rgb_dcmtk.png", "src_rgb_lossless.webp"} {
		fresh, _ := os.ReadFile(filepath.Join(dir, f))
		a, err := imaging.New(imaging.Config{}).Image(readFile(t, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := imaging.New(imaging.Config{}).Image(fresh)
		if err != nil {
			t.Fatalf("%s regenerated: %v", f, err)
		}
		if _, mx := diff(t, a, b); mx != 0 && !bytes.Equal(fresh, readFile(t, f)) {
			t.Errorf("%s: regenerated pixels differ (max %d)", f, mx)
		}
	}
}
