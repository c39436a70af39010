// Package viewer is the retinal image viewer: a Fyne widget that shows one
// photograph through the ui/retina pipeline (pyramid, view, adjustments,
// annotations), a side panel with the adjustment sliders, annotation tools
// and live measurement readouts, and a compare view that shows two or four
// images side by side with linked zoom and pan, or flickers between two
// visits of the same eye.
//
// # Data
//
// The viewer reads image bytes through a Source and marks through an
// AnnotationStore; *lane.Service satisfies both (ImageData, Annotations and
// SaveAnnotation check permissions and audit every view). Bytes are decoded
// by the retina.Decoder that cmd injects (devices/imaging's, which knows
// JPEG, PNG, TIFF, BMP, WebP and DICOM and enforces a pixel budget): ui
// never imports devices.
//
// # Rendering
//
// Each Viewer owns one render goroutine, started by New and stopped when
// the context given to New ends. The UI goroutine posts frame requests
// (view, adjustments, marks, viewport size in physical pixels = widget
// size × canvas scale); the render goroutine keeps only the latest request,
// renders it into a reused *image.RGBA (render, adjust, then the marks
// drawn from data with retina.DrawAnnotations), and hands the frame to the
// UI goroutine with fyne.Do. Two frame buffers alternate, one shown and
// one being drawn, so the painter never reads pixels that are being
// written; a third keeps the adjusted picture without marks so that drawing
// a mark repaints only the overlay. Decoding and building the pyramid also
// run off the UI goroutine, with a progress bar.
//
// # Keys
//
// With the viewer focused (click it): mouse wheel zooms around the cursor,
// dragging pans (or draws with an annotation tool), + and − zoom, 0 fits,
// A shows 1:1 (actual pixels), arrows pan, R and Shift+R rotate by 90°,
// H and V flip, B/C/G raise brightness, contrast and gamma (Shift lowers),
// F toggles red-free, 1/2/3 show the red, green or blue channel alone, E
// toggles CLAHE, I inverts, and Esc cancels a mark being drawn or resets
// the view and adjustments. "1" selects the red channel rather than 1:1
// because the three channels belong together on 1, 2 and 3.
package viewer
