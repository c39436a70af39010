package ui

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // the default decoder's formats
	_ "image/png"
	"slices"
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
	"github.com/examlane/examlane/ui/viewer"
)

// thumbSize is the size of an image's thumbnail on the Images tab.
var thumbSize = fyne.NewSize(240, 180)

// thumbMaxEdge is the longest edge, in pixels, of a decoded thumbnail.
const thumbMaxEdge = 320

// imagesPanel is the Exam screen's Images tab: this visit's photographs as
// thumbnails in a right-eye and a left-eye column, the patient's earlier
// images, pictures waiting to be assigned, and the retinal viewer (zoom,
// pan, contrast, red-free, annotate, measure) or the compare view (side by
// side or flicker, with an earlier visit or the other eye) opened over
// them. Image bytes are read and decoded off the Fyne goroutine; the
// thumbnails and the viewer's decoded pixels are dropped at every lock.
type imagesPanel struct {
	d       *Desktop
	chart   *openChart
	content fyne.CanvasObject

	browse  fyne.CanvasObject
	host    *fyne.Container // browse, or the open viewer
	right   *fyne.Container
	left    *fyne.Container
	other   *fyne.Container
	earlier *fyne.Container
	queued  *fyne.Container
	both    *widget.Button

	thumbs  map[lane.ImageID]image.Image // decoded thumbnails of the open chart
	loading map[lane.ImageID]bool        // thumbnails being loaded
	failed  map[lane.ImageID]string      // why a thumbnail could not be made
	waiting []lane.Capture               // queued pictures

	// The open viewer or compare view; cancel stops its goroutines and
	// lets its pixels go.
	viewing   bool
	view      fyne.CanvasObject
	stopView  context.CancelFunc
	release   func() // drops the open view's decoded pixels
	openTitle *widget.Label
}

var _ Lockable = (*imagesPanel)(nil)

// newImagesPanel builds the Images tab, empty.
func newImagesPanel(d *Desktop) *imagesPanel {
	s := &imagesPanel{d: d}
	s.resetCaches()
	s.right = container.NewVBox()
	s.left = container.NewVBox()
	s.other = container.NewVBox()
	s.earlier = container.NewVBox()
	s.queued = container.NewVBox()
	s.both = d.button("Both eyes side by side", theme.ViewFullScreenIcon(), s.compareEyes)
	eyes := container.NewGridWithColumns(2,
		container.NewVBox(columnTitle("Right eye (OD)"), s.right),
		container.NewVBox(columnTitle("Left eye (OS)"), s.left),
	)
	s.browse = container.NewVScroll(container.NewVBox(
		container.NewBorder(nil, nil, heading("This visit"), s.both),
		eyes, s.other,
		widget.NewSeparator(),
		heading("Earlier visits"), s.earlier,
		widget.NewSeparator(),
		heading("Waiting to be assigned"), s.queued,
	))
	s.openTitle = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.openTitle.Truncation = fyne.TextTruncateEllipsis
	s.host = container.NewStack(s.browse)
	s.content = s.host
	return s
}

// resetCaches forgets every decoded thumbnail.
func (s *imagesPanel) resetCaches() {
	s.thumbs = map[lane.ImageID]image.Image{}
	s.loading = map[lane.ImageID]bool{}
	s.failed = map[lane.ImageID]string{}
	s.waiting = nil
}

// decoder returns the configured image decoder, or the standard library's
// JPEG and PNG decoders.
func (s *imagesPanel) decoder() retina.Decoder {
	if s.d.cfg.ImageDecoder != nil {
		return s.d.cfg.ImageDecoder
	}
	return func(data []byte) (image.Image, error) {
		m, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, lane.Invalidf("image: %v", err)
		}
		return m, nil
	}
}

// chartOpened shows a newly opened chart's images, or none.
func (s *imagesPanel) chartOpened(o *openChart) {
	s.closeViewer()
	s.chart = o
	s.resetCaches()
	s.refresh()
	s.loadQueued()
}

// chartChanged redraws after the chart changed (an image arrived).
func (s *imagesPanel) chartChanged() {
	if s.chart != nil {
		s.refresh()
	}
}

// Lock drops the thumbnails, the queue and the open viewer with its
// decoded pixels.
func (s *imagesPanel) Lock() {
	s.closeViewer()
	s.chart = nil
	s.resetCaches()
	s.refresh()
}

// visitID returns the visit whose images the tab shows: the chart's open
// encounter, or the one the lane files readings in (a visit started on
// the pretest screen); "" when none.
func (s *imagesPanel) visitID() lane.EncounterID {
	if s.chart == nil {
		return ""
	}
	if s.chart.enc != nil {
		return s.chart.enc.ID
	}
	if p, enc := s.d.svc.Active(); p == s.chart.patientID() {
		return enc
	}
	return ""
}

// visitImages returns the open visit's live images, oldest first.
func (s *imagesPanel) visitImages() []lane.Image {
	id := s.visitID()
	if id == "" {
		return nil
	}
	var out []lane.Image
	for _, img := range s.chart.c.Images {
		if !img.Deleted && img.EncounterID == id {
			out = append(out, img)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CapturedAt.Before(out[j].CapturedAt) })
	return out
}

// earlierImages returns the patient's live images from other visits,
// newest first.
func (s *imagesPanel) earlierImages() []lane.Image {
	if s.chart == nil {
		return nil
	}
	var out []lane.Image
	for _, img := range s.chart.c.Images {
		if !img.Deleted && (img.EncounterID == "" || img.EncounterID != s.visitID()) {
			out = append(out, img)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CapturedAt.After(out[j].CapturedAt) })
	return out
}

// count returns how many images the visit has, for the tab's title.
func (s *imagesPanel) count() int { return len(s.visitImages()) }

// refresh redraws the browse view and loads missing thumbnails.
func (s *imagesPanel) refresh() {
	for _, c := range []*fyne.Container{s.right, s.left, s.other, s.earlier, s.queued} {
		c.RemoveAll()
	}
	if s.chart == nil {
		return
	}
	visit := s.visitImages()
	var pair [2]bool
	for _, img := range visit {
		card := s.card(img)
		switch img.Eye {
		case lane.EyeRight:
			s.right.Add(card)
			pair[0] = true
		case lane.EyeLeft:
			s.left.Add(card)
			pair[1] = true
		default:
			s.other.Add(card)
		}
	}
	switch {
	case s.visitID() == "":
		s.right.Add(note("This chart has no visit in progress."))
	case len(visit) == 0:
		s.right.Add(note("No images yet. Pictures from the lane's camera appear here as they are taken."))
	}
	if pair[0] && pair[1] {
		s.both.Enable()
	} else {
		s.both.Disable()
	}
	earlier := s.earlierImages()
	if len(earlier) == 0 {
		s.earlier.Add(note("None."))
	}
	for _, img := range earlier {
		s.earlier.Add(s.earlierRow(img))
	}
	s.refreshQueued()
	s.loadThumbs(visit)
}

// imageTitle describes an image in words: eye, kind, date and time.
func (s *imagesPanel) imageTitle(img lane.Image) string {
	return fmt.Sprintf("%s · %s · %s %s", eyeWords(img.Eye), kindWords(img.Kind), dateText(img.CapturedAt, s.d.tz), clockText(img.CapturedAt, s.d.tz))
}

// eyeWords names an eye on the Images tab.
func eyeWords(e lane.Eye) string {
	switch e {
	case lane.EyeRight:
		return "Right eye"
	case lane.EyeLeft:
		return "Left eye"
	case lane.EyeBoth:
		return "Both eyes"
	}
	return "Eye not recorded"
}

// kindWords names an image kind.
func kindWords(k lane.ImageKind) string {
	switch k {
	case lane.ImageColor:
		return "Colour"
	case lane.ImageRedFree:
		return "Red-free"
	case lane.ImageFA:
		return "Fluorescein angiogram"
	case lane.ImageAF:
		return "Autofluorescence"
	}
	return "Photograph"
}

// card shows one of the visit's images: its thumbnail, what it is, and
// buttons to open it or compare it with the same eye at an earlier visit.
func (s *imagesPanel) card(img lane.Image) fyne.CanvasObject {
	var pic fyne.CanvasObject
	switch {
	case s.thumbs[img.ID] != nil:
		ci := canvas.NewImageFromImage(s.thumbs[img.ID])
		ci.FillMode = canvas.ImageFillContain
		ci.ScaleMode = canvas.ImageScaleSmooth
		ci.SetMinSize(thumbSize)
		pic = container.NewStack(canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)), ci)
	case s.failed[img.ID] != "":
		l := widget.NewLabel(s.failed[img.ID])
		l.Wrapping = fyne.TextWrapWord
		l.Importance = widget.WarningImportance
		pic = container.NewStack(spacer(thumbSize.Width, thumbSize.Height), l)
	default:
		pic = container.NewStack(canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)),
			spacer(thumbSize.Width, thumbSize.Height), container.NewCenter(widget.NewLabel("Loading…")))
	}
	caption := widget.NewLabel(kindWords(img.Kind) + " · " + clockText(img.CapturedAt, s.d.tz) + " · " + instrumentText(img.Instrument))
	caption.Truncation = fyne.TextTruncateEllipsis
	open := s.d.button("Open", theme.ZoomInIcon(), func() { s.openImage(img) })
	cmp := s.d.button("Compare with earlier", theme.ViewRestoreIcon(), func() { s.compareEarlier(img) })
	if _, ok := s.previous(img); !ok {
		cmp.Disable()
	}
	return container.NewVBox(container.NewHBox(pic), caption, container.NewHBox(open, cmp))
}

// earlierRow lists one image of an earlier visit.
func (s *imagesPanel) earlierRow(img lane.Image) fyne.CanvasObject {
	l := widget.NewLabel(s.imageTitle(img))
	l.Truncation = fyne.TextTruncateEllipsis
	open := s.d.button("Open", theme.ZoomInIcon(), func() { s.openImage(img) })
	cmp := s.d.button("Compare with this visit", theme.ViewRestoreIcon(), func() { s.compareWith(img) })
	if _, ok := s.current(img.Eye); !ok {
		cmp.Disable()
	}
	return container.NewBorder(nil, nil, nil, container.NewHBox(open, cmp), l)
}

// previous returns the newest earlier image of img's eye.
func (s *imagesPanel) previous(img lane.Image) (lane.Image, bool) {
	for _, e := range s.earlierImages() {
		if e.Eye == img.Eye && e.Eye != lane.EyeUnknown {
			return e, true
		}
	}
	return lane.Image{}, false
}

// current returns this visit's newest image of eye.
func (s *imagesPanel) current(eye lane.Eye) (lane.Image, bool) {
	visit := s.visitImages()
	for i := len(visit) - 1; i >= 0; i-- {
		if visit[i].Eye == eye && eye != lane.EyeUnknown {
			return visit[i], true
		}
	}
	return lane.Image{}, false
}

// loadThumbs decodes the thumbnails not loaded yet, in the background.
func (s *imagesPanel) loadThumbs(imgs []lane.Image) {
	var todo []lane.Image
	for _, img := range imgs {
		if s.thumbs[img.ID] == nil && !s.loading[img.ID] && s.failed[img.ID] == "" {
			s.loading[img.ID] = true
			todo = append(todo, img)
		}
	}
	if len(todo) == 0 {
		return
	}
	chart, dec := s.chart, s.decoder()
	s.d.async(func() func() {
		thumbs := make([]image.Image, len(todo))
		errs := make([]error, len(todo))
		for i, img := range todo {
			thumbs[i], errs[i] = s.thumbnail(img, dec)
		}
		return func() {
			if s.chart != chart {
				return // another chart opened meanwhile
			}
			for i, img := range todo {
				delete(s.loading, img.ID)
				if errs[i] != nil {
					s.failed[img.ID] = "Cannot show this image: " + errorText(errs[i])
					s.d.logf("thumbnail: %v", errs[i])
					continue
				}
				s.thumbs[img.ID] = thumbs[i]
			}
			s.refresh()
		}
	})
}

// thumbnail reads and decodes an image and returns a small copy: the
// pyramid level whose longest edge first fits thumbMaxEdge. It runs off
// the Fyne goroutine.
func (s *imagesPanel) thumbnail(img lane.Image, dec retina.Decoder) (image.Image, error) {
	data, err := s.d.svc.ImageData(s.d.ctx, img)
	if err != nil {
		return nil, err
	}
	m, err := dec(data)
	if err != nil {
		return nil, err
	}
	pyr := retina.NewPyramid(m)
	k := 0
	for k < pyr.NumLevels()-1 && max(pyr.LevelSize(k).X, pyr.LevelSize(k).Y) > thumbMaxEdge {
		k++
	}
	return pyr.Level(k), nil
}

// loadQueued fetches the pictures waiting to be assigned.
func (s *imagesPanel) loadQueued() {
	if s.chart == nil || !s.d.can(lane.PermCapture) {
		return
	}
	chart := s.chart
	s.d.async(func() func() {
		cs, err := s.d.svc.UnassignedCaptures(s.d.ctx)
		return func() {
			if err != nil {
				s.d.logf("unassigned images: %v", err)
				return
			}
			if s.chart != chart {
				return
			}
			s.waiting = slices.DeleteFunc(cs, func(c lane.Capture) bool { return c.Image == nil })
			s.refreshQueued()
		}
	})
}

// refreshQueued lists the pictures waiting to be assigned, each with a
// button to file it in this visit.
func (s *imagesPanel) refreshQueued() {
	s.queued.RemoveAll()
	if len(s.waiting) == 0 {
		s.queued.Add(note("None."))
		return
	}
	for _, c := range s.waiting {
		img := *c.Image
		img.CapturedAt = c.DeviceTime
		l := widget.NewLabel(s.imageTitle(img) + " · " + instrumentText(c.Instrument))
		l.Truncation = fyne.TextTruncateEllipsis
		id := c.ID
		b := s.d.button("File in this visit", theme.ContentPasteIcon(), func() { s.assign(id) })
		if s.visitID() == "" || (s.chart.enc != nil && s.chart.enc.Signed()) || !s.d.can(lane.PermCapture) {
			b.Disable()
		}
		row := container.NewBorder(nil, nil, nil, b, l)
		if len(c.Warnings) > 0 {
			w := widget.NewLabel(c.Warnings[len(c.Warnings)-1])
			w.Importance = widget.WarningImportance
			w.Wrapping = fyne.TextWrapWord
			s.queued.Add(container.NewVBox(row, w))
			continue
		}
		s.queued.Add(row)
	}
}

// assign files a waiting picture in the open visit.
func (s *imagesPanel) assign(id lane.CaptureID) {
	enc := s.visitID()
	if enc == "" {
		return
	}
	pid := s.chart.patientID()
	s.d.async(func() func() {
		c, err := s.d.svc.AssignCapture(s.d.ctx, id, pid, enc)
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			if c.Image != nil {
				s.d.onImage(*c.Image)
			}
			s.d.notify("Image filed in this visit")
			s.loadQueued()
			s.d.pretest.loadUnassigned()
		}
	})
}

// writable reports whether marks may be added to every image in imgs:
// the user edits exams and none of the images' visits is signed.
func (s *imagesPanel) writable(imgs ...lane.Image) bool {
	if !s.d.can(lane.PermEditExam) || s.chart == nil {
		return false
	}
	for _, img := range imgs {
		for _, e := range s.chart.c.Encounters {
			if e.ID == img.EncounterID && e.Signed() {
				return false
			}
		}
	}
	return true
}

// viewerConfig returns the viewer's configuration for imgs.
func (s *imagesPanel) viewerConfig(imgs ...lane.Image) viewer.Config {
	return viewer.Config{Source: s.d.svc, Decoder: s.decoder(), Store: s.d.svc, ReadOnly: !s.writable(imgs...), Inline: s.d.inline}
}

// show replaces the browse view with an open viewer.
func (s *imagesPanel) show(title string, view fyne.CanvasObject, release func(), stop context.CancelFunc) {
	s.closeViewer()
	s.viewing, s.view, s.stopView, s.release = true, view, stop, release
	s.openTitle.SetText(title)
	back := s.d.button("Back to images", theme.NavigateBackIcon(), s.closeViewer)
	s.host.Objects = []fyne.CanvasObject{container.NewBorder(container.NewBorder(nil, nil, back, nil, s.openTitle), nil, nil, nil, view)}
	s.host.Refresh()
}

// openImage opens img in the viewer.
func (s *imagesPanel) openImage(img lane.Image) {
	ctx, cancel := context.WithCancel(s.d.ctx)
	v := viewer.New(ctx, s.viewerConfig(img))
	s.show(s.imageTitle(img), viewer.NewWorkspace(v), v.Release, cancel)
	v.Load(img)
}

// openCompare opens a side-by-side view of a and b.
func (s *imagesPanel) openCompare(title string, a, b lane.Image) {
	ctx, cancel := context.WithCancel(s.d.ctx)
	c, err := viewer.NewCompare(ctx, s.viewerConfig(a, b), 2)
	if err != nil {
		cancel()
		s.d.showError(err)
		return
	}
	s.show(title, c, c.Release, cancel)
	c.Load(a, b)
}

// compareEarlier compares img with the same eye at the previous visit.
func (s *imagesPanel) compareEarlier(img lane.Image) {
	if prev, ok := s.previous(img); ok {
		s.openCompare(fmt.Sprintf("%s: this visit and %s", eyeWords(img.Eye), dateText(prev.CapturedAt, s.d.tz)), img, prev)
	}
}

// compareWith compares an earlier image with this visit's of the same eye.
func (s *imagesPanel) compareWith(prev lane.Image) {
	if cur, ok := s.current(prev.Eye); ok {
		s.openCompare(fmt.Sprintf("%s: this visit and %s", eyeWords(prev.Eye), dateText(prev.CapturedAt, s.d.tz)), cur, prev)
	}
}

// compareEyes shows this visit's right and left eye side by side.
func (s *imagesPanel) compareEyes() {
	r, okR := s.current(lane.EyeRight)
	l, okL := s.current(lane.EyeLeft)
	if okR && okL {
		s.openCompare("This visit: right and left eye", r, l)
	}
}

// closeViewer goes back to the thumbnails, stopping the viewer's
// goroutines and letting its decoded pixels go.
func (s *imagesPanel) closeViewer() {
	if s.release != nil {
		s.release()
	}
	if s.stopView != nil {
		s.stopView()
	}
	s.viewing, s.view, s.stopView, s.release = false, nil, nil, nil
	s.openTitle.SetText("")
	s.host.Objects = []fyne.CanvasObject{s.browse}
	s.host.Refresh()
}

// onImage puts an image filed in the open chart into it and shows it.
func (d *Desktop) onImage(img lane.Image) {
	if d.locked || d.chart == nil || img.PatientID != d.chart.c.Patient.ID {
		return
	}
	i := slices.IndexFunc(d.chart.c.Images, func(x lane.Image) bool { return x.ID == img.ID })
	if i >= 0 {
		d.chart.c.Images[i] = img
	} else {
		d.chart.c.Images = append(d.chart.c.Images, img)
	}
	d.chartChanged()
}
