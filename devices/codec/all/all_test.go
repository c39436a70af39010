package all

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/codectest"
)

func TestEveryCodecRegistered(t *testing.T) {
	want := []string{"dcs", "joia", "nidek-dblock", "nidek-rt", "nidek-xml"}
	got := codec.Names()
	if len(got) != len(want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Names() = %v, want %v", got, want)
		}
		c, err := codec.Lookup(want[i])
		if err != nil || c.Name() != want[i] {
			t.Errorf("Lookup(%s) = %v, %v", want[i], c, err)
		}
	}
	if _, err := codec.Lookup("nope"); err == nil {
		t.Error("Lookup of an unknown codec succeeded")
	}
}

// TestDetectSynthetic: every synthetic transcript is detected as the
// dialect whose folder holds it.
func TestDetectSynthetic(t *testing.T) {
	dirs := map[string]string{"../nidekrt": "nidek-rt", "../nidekd": "nidek-dblock", "../joia": "joia", "../nidekxml": "nidek-xml", "../dcs": "dcs"}
	for dir, want := range dirs {
		for _, pat := range []string{"*.bin", "*.xml"} {
			files, _ := filepath.Glob(filepath.Join(dir, "testdata", pat))
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				c, ok := codec.Detect(data)
				if !ok || c.Name() != want {
					t.Errorf("Detect(%s) = %v %v, want %s", f, c, ok, want)
				}
			}
		}
	}
}

// TestDetectRealFixtures: every real capture is detected as its dialect
// (a .hex fixture after converting the hex text).
func TestDetectRealFixtures(t *testing.T) {
	for name, want := range map[string]string{
		"nidek_rt5100_rt-to-pc-stream-2016-08.bin":           "nidek-rt",
		"nidek_rt5100_rt-to-pc-capture-2016-08.log":          "nidek-rt",
		"nidek_rt3100_final-rx-capture-1.hex":                "nidek-rt",
		"nidek_lm1000p_lm-progressive-rl-manual-example.bin": "nidek-dblock",
		"nidek_lm1000p_lm-progressive-rl-manual-example.hex": "nidek-dblock",
		"nidek_lm7_lm-lan.xml":                               "nidek-xml",
		"topcon_kr800s_ref-km-sbj-joia-sjis-2013.xml":        "joia",
		"topcon_trk2p_ref-km-tm-joia-2013.xml":               "joia",
		"topcon_ct800a_tm-joia-1.xml":                        "joia",
		"topcon_cl300_lm-joia-1.xml":                         "joia",
	} {
		data := codectest.Read(t, name)
		c, ok := codec.Detect(data)
		if !ok || c.Name() != want {
			t.Errorf("Detect(%s) = %v %v, want %s", name, c, ok, want)
			continue
		}
		for _, r := range codec.DecodeInput(c, data) {
			if r.Err != nil {
				t.Errorf("%s frame %d: %v", name, r.Index, r.Err)
			}
		}
	}
}

func TestDetectRejectsOther(t *testing.T) {
	for _, b := range []string{"", "hello world", "{\"json\":true}", "\x00\x01\x02", "<html><body/></html>"} {
		if c, ok := codec.Detect([]byte(b)); ok {
			t.Errorf("Detect(%q) = %s", b, c.Name())
		}
	}
}
