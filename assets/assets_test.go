package assets_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/examlane/examlane/assets"
)

func TestIcon(t *testing.T) {
	if got, want := assets.Icon.Name(), "Icon.png"; got != want {
		t.Errorf("Icon.Name() = %q, want %q", got, want)
	}
	img, err := png.Decode(bytes.NewReader(assets.Icon.Content()))
	if err != nil {
		t.Fatalf("decoding Icon: %v", err)
	}
	if got := img.Bounds().Size(); got.X != 512 || got.Y != 512 {
		t.Errorf("Icon size = %v, want 512×512", got)
	}
}
