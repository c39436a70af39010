// Package retina is the display pipeline for retinal and anterior-segment
// photographs: a multi-resolution pyramid built once per image, view state
// (zoom, pan, rotation, flips) with exact viewport↔image mapping, fast
// viewport rendering, display adjustments (brightness, contrast, gamma,
// red-free, single channels, CLAHE, invert), comparison helpers (linked
// views, flicker), annotations kept as data and drawn over a rendered
// viewport, and calibrated measurements (length, area, cup-to-disc ratio).
//
// The package is pure: it works on image.Image and *image.RGBA and imports
// no Fyne, so the widgets in ui can stay thin and every step is testable
// with golden images. It does not decode files either: the caller supplies
// a Decoder (cmd wires the one from devices/imaging), because ui and
// devices never import each other.
//
// # Pipeline
//
//	bytes ─Decoder→ image.Image ─NewPyramid→ *Pyramid ─Render(View)→ *image.RGBA
//	      ─Adjust.Apply→ (in place) ─DrawAnnotations→ (in place) → screen
//
// Level 0 of a pyramid is the decoded image kept as it came (*image.YCbCr
// from a JPEG is 1.5 bytes per pixel instead of 4); levels 1… are *image.RGBA
// halvings built lazily with a 2×2 box filter the first time a view needs
// them. Adjustments and annotations are applied to the viewport-sized
// rendered image, never to the stored pixels.
//
// # Coordinates
//
// Image coordinates are level-0 pixels with (0,0) at the top-left corner of
// the top-left pixel, so pixel (i,j) covers [i,i+1)×[j,j+1) and its centre is
// (i+0.5, j+0.5). Viewport coordinates are the same for the rendered image.
// lane.Point carries both.
//
// # Concurrency
//
// A Pyramid is safe for concurrent use: levels are built once under a lock
// and never change afterwards. Views, adjustments and annotations are
// values. Rendering and adjustment use a few goroutines internally, joined
// before the call returns.
package retina
