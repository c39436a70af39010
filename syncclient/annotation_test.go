package syncclient_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/fhir"
	"github.com/examlane/examlane/syncclient/synctest"
)

// annotations returns the live annotations of every image lane r holds,
// keyed by the image's DICOM instance UID, or its media type for photos.
func (r *rig) annotations() map[string][]lane.Annotation {
	r.t.Helper()
	out := map[string][]lane.Annotation{}
	for _, rec := range r.store.Records(lane.EntityImage) {
		img := rec.(lane.Image)
		as, err := r.store.ListAnnotations(context.Background(), img.ID)
		if err != nil {
			r.t.Fatal(err)
		}
		key := img.InstanceUID
		if key == "" {
			key = img.MediaType
		}
		out[key] = append(out[key], as...)
	}
	return out
}

// savePhoto stores a synthetic JPEG photo of the patient's eye.
func (r *rig) savePhoto(pid lane.PatientID, eye lane.Eye, at time.Time) lane.Image {
	r.t.Helper()
	photo := []byte("\xff\xd8\xff\xe0 synthetic jpeg bytes \xff\xd9")
	img, err := r.store.SaveImage(context.Background(), tech, lane.Image{PatientID: pid, Eye: eye, Kind: lane.ImageColor,
		CapturedAt: at, MediaType: "image/jpeg", Size: int64(len(photo)), SHA256: sha(photo)}, photo)
	if err != nil {
		r.t.Fatal(err)
	}
	return img
}

// sameMark compares what a person sees of two annotations (ids differ
// between lanes).
func sameMark(a, b lane.Annotation) bool {
	if a.Kind != b.Kind || a.Text != b.Text || a.Author != b.Author || !a.At.Equal(b.At) || len(a.Points) != len(b.Points) {
		return false
	}
	for i := range a.Points {
		if a.Points[i] != b.Points[i] {
			return false
		}
	}
	return true
}

// TestAnnotationsSyncBetweenLanes: marks made on lane 1 on a DICOM image and
// a photo reach the server as Basic resources on the right subjects in one
// cycle (the outbox empties), lane 2 pulls them with the chart, later edits
// travel both ways incrementally, and a server-side deletion arrives.
func TestAnnotationsSyncBetweenLanes(t *testing.T) {
	for _, tc := range serverModes {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv := newServer(t, tc.opts)
			r := newLane(t, srv, "Lane 1", nil)
			pid := lane.PatientID(seedPatient(t, srv, 1, "loc-1", r.today(9, 0)))
			r.syncUntilDrained(3)

			dcm := synctest.DICOMFile("1.2.826.0.1.3680043.8.498.20", "1.2.826.0.1.3680043.8.498.21", "1.2.826.0.1.3680043.8.498.22")
			di, err := r.store.SaveImage(ctx, tech, lane.Image{PatientID: pid, Eye: lane.EyeRight, Kind: lane.ImageColor,
				CapturedAt: r.today(9, 10), MediaType: fhir.MediaTypeDICOM, StudyUID: "1.2.826.0.1.3680043.8.498.20",
				SeriesUID: "1.2.826.0.1.3680043.8.498.21", InstanceUID: "1.2.826.0.1.3680043.8.498.22", Size: int64(len(dcm)), SHA256: sha(dcm)}, dcm)
			if err != nil {
				t.Fatal(err)
			}
			pi := r.savePhoto(pid, lane.EyeLeft, r.today(9, 11))
			cup, err := r.store.SaveAnnotation(ctx, optom, lane.Annotation{ImageID: di.ID, Kind: lane.AnnotCup,
				Points: []lane.Point{{X: 300.5, Y: 200}, {X: 310, Y: 190.25}, {X: 320, Y: 200}, {X: 310, Y: 209.75}}, Author: optom.User, At: r.today(9, 20)})
			if err != nil {
				t.Fatal(err)
			}
			note, err := r.store.SaveAnnotation(ctx, optom, lane.Annotation{ImageID: pi.ID, Kind: lane.AnnotText,
				Points: []lane.Point{{X: 12, Y: 34}}, Text: "Drusen, recheck in 6 months", Author: optom.User, At: r.today(9, 21)})
			if err != nil {
				t.Fatal(err)
			}

			// One cycle delivers everything: nothing stays queued.
			r.mustSync()
			if out := r.store.Outbox(); len(out) != 0 {
				t.Fatalf("outbox after one cycle holds %d entries (first: %s %s, %q)", len(out), out[0].Entity, out[0].ID, out[0].LastError)
			}
			if st := r.client.Status(); st.Queued != 0 || st.LastError != "" {
				t.Errorf("status after the cycle = %+v, want nothing queued and no error", st)
			}
			assertExactlyOnce(t, r, "Basic", []string{cup.ID, note.ID})
			subjects := map[string]string{
				cup.ID:  "ImagingStudy/" + srv.FindByLaneID("ImagingStudy", string(di.ID))[0],
				note.ID: "DocumentReference/" + srv.FindByLaneID("DocumentReference", string(pi.ID))[0],
			}
			for id, want := range subjects {
				raw, _ := srv.Get("Basic", srv.FindByLaneID("Basic", id)[0])
				if !jsonHas(t, raw, `"subject":{"reference":"`+want+`"}`) || !jsonHas(t, raw, `"Practitioner/dr-1"`) ||
					!jsonHas(t, raw, `"code":"annotation"`) {
					t.Errorf("annotation %s on the server: want subject %s, author and code:\n%s", id, want, prettyJSON(raw))
				}
			}

			// Lane 2's first cycle pulls the chart, annotations included.
			r2 := newLane(t, srv, "Lane 2", nil)
			r2.mustSync()
			got := r2.annotations()
			if len(got[di.InstanceUID]) != 1 || !sameMark(got[di.InstanceUID][0], cup) {
				t.Fatalf("lane 2, DICOM image annotations = %+v, want %+v", got[di.InstanceUID], cup)
			}
			if len(got["image/jpeg"]) != 1 || !sameMark(got["image/jpeg"][0], note) {
				t.Errorf("lane 2, photo annotations = %+v, want %+v", got["image/jpeg"], note)
			}

			r2.syncUntilDrained(3) // its pull's audit events

			// Lane 1 edits its note; lane 2 marks the DICOM image.
			time.Sleep(5 * time.Millisecond)
			note.Text = "Drusen, recheck in 3 months"
			if note, err = r.store.SaveAnnotation(ctx, optom, note); err != nil {
				t.Fatal(err)
			}
			r2img := got[di.InstanceUID][0].ImageID
			arrow, err := r2.store.SaveAnnotation(ctx, optom, lane.Annotation{ImageID: r2img, Kind: lane.AnnotArrow,
				Points: []lane.Point{{X: 1, Y: 2}, {X: 30, Y: 40}}, Author: optom.User, At: r.today(10, 0)})
			if err != nil {
				t.Fatal(err)
			}
			r.syncUntilDrained(3)
			r2.syncUntilDrained(3)
			time.Sleep(5 * time.Millisecond)
			r.syncUntilDrained(3)
			if got := r2.annotations()["image/jpeg"]; len(got) != 1 || got[0].Text != note.Text {
				t.Errorf("lane 2 did not pull the edited note: %+v", got)
			}
			on1, err := r.store.ListAnnotations(ctx, di.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(on1) != 2 || !sameMark(on1[0], cup) && !sameMark(on1[1], cup) || !sameMark(on1[0], arrow) && !sameMark(on1[1], arrow) {
				t.Errorf("lane 1, DICOM image annotations = %+v, want the cup and lane 2's arrow", on1)
			}
			for _, a := range on1 {
				if a.ImageID != di.ID {
					t.Errorf("pulled annotation refers to image %s, want lane 1's id %s", a.ImageID, di.ID)
				}
			}

			// The server deletes the note: both lanes follow (type history).
			time.Sleep(5 * time.Millisecond)
			if err := srv.Delete("Basic", srv.FindByLaneID("Basic", note.ID)[0]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
			r.syncUntilDrained(3)
			r2.syncUntilDrained(3)
			if got := r.annotations()["image/jpeg"]; len(got) != 0 {
				t.Errorf("lane 1 keeps the note the server deleted: %+v", got)
			}
			if got := r2.annotations()["image/jpeg"]; len(got) != 0 {
				t.Errorf("lane 2 keeps the note the server deleted: %+v", got)
			}
		})
	}
}

// TestAnnotationWaitsForItsImage: an annotation whose image has not reached
// the server is held (not refused, not sent with a dangling subject) and
// goes as soon as the image does.
func TestAnnotationWaitsForItsImage(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, synctest.Options{NoTransactions: true})
	r := newLane(t, srv, "Lane 1", nil)
	pid := lane.PatientID(seedPatient(t, srv, 1, "loc-1", r.today(9, 0)))
	r.syncUntilDrained(3)
	img := r.savePhoto(pid, lane.EyeRight, r.today(9, 10))
	a, err := r.store.SaveAnnotation(ctx, optom, lane.Annotation{ImageID: img.ID, Kind: lane.AnnotCircle,
		Points: []lane.Point{{X: 5, Y: 5}, {X: 9, Y: 5}}, Author: optom.User, At: r.today(9, 12)})
	if err != nil {
		t.Fatal(err)
	}
	// The server refuses the photo (its Binary and DocumentReference) for now.
	srv.SetFault(func(req *http.Request) synctest.Fault {
		if req.Method == http.MethodPost && (strings.HasSuffix(req.URL.Path, "/Binary") || strings.HasSuffix(req.URL.Path, "/DocumentReference")) {
			return synctest.Fault{Status: http.StatusBadRequest}
		}
		return synctest.Fault{}
	})
	_ = r.client.SyncNow(ctx)
	if n := srv.Count("Basic"); n != 0 {
		t.Errorf("the annotation reached the server before its image (%d Basic)", n)
	}
	var entry *lane.OutboxEntry
	for _, e := range r.store.Outbox() {
		if e.Entity == lane.EntityAnnotation && e.ID == a.ID {
			entry = &e
		}
	}
	if entry == nil || entry.Attempts == 0 || !strings.Contains(entry.LastError, "not yet on the server") {
		t.Errorf("annotation entry = %+v, want it held waiting for its image", entry)
	}
	srv.SetFault(nil)
	r.syncUntilDrained(3)
	assertExactlyOnce(t, r, "Basic", []string{a.ID})
	raw, _ := srv.Get("Basic", srv.FindByLaneID("Basic", a.ID)[0])
	if want := "DocumentReference/" + srv.FindByLaneID("DocumentReference", string(img.ID))[0]; !jsonHas(t, raw, want) {
		t.Errorf("annotation subject is not %s: %s", want, raw)
	}
}
