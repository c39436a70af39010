package server

import (
	"bytes"
	"image/jpeg"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina/synth"
)

// fundusOptions describe a synthetic fundus photograph.
type fundusOptions struct {
	Width, Height int
	Right         bool    // right eye: the optic disc is on the image's right (nasal)
	CupDisc       float64 // vertical cup-to-disc ratio; the generator's default when ≤ 0
	Seed          uint64
}

// fundusJPEG draws a synthetic fundus with the lane's generator
// (ui/retina/synth: made from the seed, no real image went into it) and
// encodes it as a baseline JPEG.
func fundusJPEG(o fundusOptions) ([]byte, error) {
	if o.Width < 1 || o.Height < 1 {
		return nil, lane.Invalidf("synthetic fundus: size %d×%d", o.Width, o.Height)
	}
	eye := lane.EyeLeft
	if o.Right {
		eye = lane.EyeRight
	}
	img, _ := synth.Generate(synth.Params{Width: o.Width, Height: o.Height, Seed: o.Seed, Eye: eye, CupDisc: o.CupDisc})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
