package lane

import (
	"context"
	"crypto/sha256"
	"fmt"
)

// AttachImage files an image captured for a patient (from a camera, a drop
// folder or an import): it is hashed, stored sealed with its bytes, and
// queued for upload by the store. The encounter must not be signed.
func (s *Service) AttachImage(ctx context.Context, img Image, data []byte) (Image, error) {
	a, err := s.authorize(ctx, PermCapture, img.PatientID)
	if err != nil {
		return Image{}, err
	}
	if img.PatientID == "" || len(data) == 0 {
		return Image{}, Invalidf("image: missing patient or data")
	}
	if err := s.checkEncounterOpen(ctx, img.EncounterID); err != nil {
		return Image{}, err
	}
	if img.ID == "" {
		img.ID = ImageID(NewID())
	}
	if img.CapturedAt.IsZero() {
		img.CapturedAt = s.cfg.Clock.Now()
	}
	img.SHA256 = sha256.Sum256(data)
	img.Size = int64(len(data))
	return s.cfg.Store.SaveImage(ctx, a, img, data)
}

// ImageData returns an image's bytes for display; viewing images is clinical
// detail (PermViewChart) and is audited.
func (s *Service) ImageData(ctx context.Context, img Image) ([]byte, error) {
	a, err := s.authorize(ctx, PermViewChart, img.PatientID)
	if err != nil {
		return nil, err
	}
	data, err := s.cfg.Store.ImageData(ctx, img.ID)
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(data) != img.SHA256 && img.SHA256 != ([32]byte{}) {
		return nil, fmt.Errorf("image %s: content does not match its hash: %w", img.ID, ErrUnauthenticated)
	}
	if err := s.audit(ctx, a, AuditEvent{Action: AuditView, Outcome: OutcomeSuccess, PatientID: img.PatientID, Entity: "Image/" + string(img.ID)}); err != nil {
		return nil, err
	}
	return data, nil
}

// Annotations lists the marks on an image.
func (s *Service) Annotations(ctx context.Context, img Image) ([]Annotation, error) {
	if _, err := s.authorize(ctx, PermViewChart, img.PatientID); err != nil {
		return nil, err
	}
	return s.cfg.Store.ListAnnotations(ctx, img.ID)
}

// SaveAnnotation saves a mark or measurement on an image. Annotating is an
// exam finding (PermEditExam); marks are data, never burnt into pixels.
func (s *Service) SaveAnnotation(ctx context.Context, img Image, an Annotation) (Annotation, error) {
	a, err := s.authorize(ctx, PermEditExam, img.PatientID)
	if err != nil {
		return Annotation{}, err
	}
	if an.ImageID != img.ID {
		return Annotation{}, Invalidf("annotation: belongs to another image")
	}
	if len(an.Points) == 0 && an.Kind != AnnotText {
		return Annotation{}, Invalidf("annotation: no points")
	}
	if an.ID == "" {
		an.ID = NewID()
	}
	an.Author, an.At = a.User, s.cfg.Clock.Now()
	return s.cfg.Store.SaveAnnotation(ctx, a, an)
}
