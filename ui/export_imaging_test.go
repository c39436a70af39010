package ui

import (
	"fyne.io/fyne/v2"

	"github.com/examlane/examlane/ui/viewer"
)

// ExamShowImages selects the exam screen's Images tab.
func ExamShowImages(d *Desktop) { d.exam.tabs.Select(d.exam.imagesTab) }

// ExamImagesTabText returns the Images tab's title.
func ExamImagesTabText(d *Desktop) string { return d.exam.imagesTab.Text }

// ExamImagesContent returns the Images tab's content.
func ExamImagesContent(d *Desktop) fyne.CanvasObject { return d.exam.images.content }

// ExamThumbnails returns how many thumbnails the Images tab holds decoded.
func ExamThumbnails(d *Desktop) int { return len(d.exam.images.thumbs) }

// ExamOpenView returns the open viewer or compare view, nil when the
// thumbnails show.
func ExamOpenView(d *Desktop) fyne.CanvasObject { return d.exam.images.view }

// ExamViewers returns the viewers of the open view.
func ExamViewers(d *Desktop) []*viewer.Viewer {
	switch v := d.exam.images.view.(type) {
	case *viewer.Compare:
		out := make([]*viewer.Viewer, v.Len())
		for i := range out {
			out[i] = v.Viewer(i)
		}
		return out
	case *fyne.Container:
		for _, o := range v.Objects {
			if vw, ok := o.(*viewer.Viewer); ok {
				return []*viewer.Viewer{vw}
			}
		}
	}
	return nil
}
