package lane

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
)

// ImageArrival is a picture a camera delivered, for IngestImage.
type ImageArrival struct {
	// Image is the picture's metadata as the camera described it; its
	// PatientID and EncounterID are ignored (IngestImage decides them).
	Image Image
	// Data is the file exactly as received.
	Data []byte
	// Source says where it came from, e.g. "folder:Fundus camera"; it
	// names the acting instrument when nobody is signed in.
	Source string
	// PatientRef is the patient identifier the file itself carries (a
	// DICOM Patient ID), "" when it carries none. When it differs from the
	// open chart's MRN the picture is queued for a person to assign.
	PatientRef string
	// Notes are what the clinician should check (kept as the queued
	// capture's warnings).
	Notes []string
}

// ImageArrived: a camera picture was filed in a chart (IngestImage with a
// chart open, or a person assigned a queued picture). Image carries ids
// and metadata only.
type ImageArrived struct{ Image Image }

func (ImageArrived) isEvent() {}

// imageFormat is the Capture.Format of a queued camera picture.
const imageFormat = "image"

// IngestImage files a camera picture. Like IngestCapture it runs while
// the lane is locked and with nobody signed in, and it never drops or
// guesses: with a chart open whose encounter takes changes, and no
// contrary patient identifier in the file, the picture is filed in that
// encounter (ImageArrived is published); otherwise it is kept, sealed, as
// an unassigned capture (Capture.Image set, CaptureArrived published)
// until a person assigns it with AssignCapture. The returned capture
// says which: PatientID is set and Image is the stored image when filed;
// PatientID is empty and ID names the queued capture otherwise.
func (s *Service) IngestImage(ctx context.Context, in ImageArrival) (Capture, error) {
	if len(in.Data) == 0 {
		return Capture{}, Invalidf("image: no data")
	}
	s.mu.Lock()
	var a Actor
	if s.session != nil {
		a = s.actorFor(*s.session)
	} else {
		a = Actor{User: UserID("instrument:" + in.Source), Lane: s.cfg.Lane, Device: s.cfg.Device}
	}
	pid, enc := s.active, s.activeEnc
	s.mu.Unlock()

	img := in.Image
	img.PatientID, img.EncounterID, img.Version, img.Deleted = "", "", 0, false
	if img.CapturedAt.IsZero() {
		img.CapturedAt = s.cfg.Clock.Now()
	}
	img.SHA256 = sha256.Sum256(in.Data)
	img.Size = int64(len(in.Data))
	warnings := append([]string(nil), in.Notes...)

	if pid != "" {
		why, err := s.imageBelongs(ctx, pid, enc, in.PatientRef)
		if err != nil {
			return Capture{}, fmt.Errorf("ingest image: %w", err)
		}
		if why == "" {
			img.PatientID, img.EncounterID = pid, enc
			if img.ID == "" {
				img.ID = ImageID(NewID())
			}
			out, err := s.cfg.Store.SaveImage(ctx, a, img, in.Data)
			if err != nil {
				return Capture{}, fmt.Errorf("ingest image: %w", err)
			}
			s.bus.Publish(ImageArrived{Image: out})
			return Capture{ID: CaptureID(out.ID), PatientID: pid, EncounterID: enc, Format: imageFormat,
				Instrument: out.Instrument, DeviceTime: out.CapturedAt, ReceivedAt: s.cfg.Clock.Now(),
				SHA256: out.SHA256, Image: &out, Warnings: warnings}, nil
		}
		warnings = append(warnings, why)
	}
	img.ID = ""
	c := Capture{ID: CaptureID(NewID()), Format: imageFormat, Instrument: img.Instrument, DeviceTime: img.CapturedAt,
		ReceivedAt: s.cfg.Clock.Now(), Raw: in.Data, SHA256: img.SHA256, Image: &img, Warnings: warnings}
	if err := s.cfg.Store.SaveCapture(ctx, a, c); err != nil {
		return Capture{}, fmt.Errorf("queue image: %w", err)
	}
	s.bus.Publish(CaptureArrived{Capture: withoutRaw(c)})
	return c, nil
}

// imageBelongs says why a picture must not go to the open chart's
// encounter ("" when it may): the encounter is signed or missing, or the
// file names another patient.
func (s *Service) imageBelongs(ctx context.Context, pid PatientID, enc EncounterID, ref string) (string, error) {
	if enc == "" {
		return "The chart that was open has no visit in progress: assign the image to a visit.", nil
	}
	if err := s.checkEncounterOpen(ctx, enc); err != nil {
		if errors.Is(err, ErrImmutable) || errors.Is(err, ErrNotFound) {
			return "The visit that was open is signed: assign the image to a visit in progress.", nil
		}
		return "", err
	}
	if ref = strings.TrimSpace(ref); ref != "" {
		p, err := s.cfg.Store.GetPatient(ctx, pid)
		if err != nil {
			return "", err
		}
		if !strings.EqualFold(strings.TrimSpace(p.MRN), ref) {
			return "The image's patient identifier does not match the chart that was open: check who it shows before assigning it.", nil
		}
	}
	return "", nil
}

// fileQueuedImage files a queued camera picture (capture c) in patient
// p's encounter enc and marks the capture assigned. The image takes the
// capture's id, so assigning twice cannot file it twice.
func (s *Service) fileQueuedImage(ctx context.Context, a Actor, c Capture, p PatientID, enc EncounterID) (Capture, error) {
	if c.PatientID != "" {
		return Capture{}, Invalidf("image: already filed in a chart")
	}
	if p == "" || enc == "" {
		return Capture{}, Invalidf("image: choose a patient and a visit to file it in")
	}
	if sha256.Sum256(c.Raw) != c.SHA256 {
		return Capture{}, fmt.Errorf("queued image %s: content does not match its hash: %w", c.ID, ErrUnauthenticated)
	}
	img := *c.Image
	img.ID, img.PatientID, img.EncounterID, img.Version = ImageID(c.ID), p, enc, 0
	out, err := s.cfg.Store.SaveImage(ctx, a, img, c.Raw)
	switch {
	case errors.Is(err, ErrConflict):
		// An earlier assignment filed the image and then failed to mark
		// the capture: finish it.
		out = img
	case err != nil:
		return Capture{}, fmt.Errorf("assign image: %w", err)
	}
	c.PatientID, c.EncounterID = p, enc
	if err := s.cfg.Store.SaveCapture(ctx, a, c); err != nil {
		return Capture{}, fmt.Errorf("assign image: %w", err)
	}
	c.Image = &out
	s.bus.Publish(ImageArrived{Image: out})
	s.bus.Publish(CaptureArrived{Capture: withoutRaw(c)})
	return c, nil
}

// withoutRaw returns c without its bytes, for events.
func withoutRaw(c Capture) Capture {
	c.Raw = nil
	return c
}
