// Package assets holds the files that are compiled into the Examlane
// binaries: today the application icon.
//
// The files live beside this one (icon/Icon.png) and are embedded with
// go:embed, so a plain `go build` or `go run` gets them without the fyne
// packaging tool. The same icon file is named by FyneApp.toml for
// `fyne package`. This package imports only Fyne and the standard library.
package assets

import (
	_ "embed" // for go:embed

	"fyne.io/fyne/v2"
)

//go:embed icon/Icon.png
var iconPNG []byte

// Icon is the application icon: a stylised eye with a teal iris on a dark
// rounded square, 512×512 pixels, PNG.
var Icon fyne.Resource = fyne.NewStaticResource("Icon.png", iconPNG)
