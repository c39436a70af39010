package syncclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/fhir"
)

// DICOMMeta is what the lane reads from a Part-10 file's meta header.
type DICOMMeta struct {
	SOPClassUID    string
	SOPInstanceUID string
	TransferSyntax string
}

// ParseDICOMMeta reads the File Meta Information (group 0002, explicit VR
// little endian) of a DICOM Part-10 file: the 128-byte preamble, "DICM",
// then elements until the group ends. It never reads pixel data and never
// re-encodes anything.
func ParseDICOMMeta(b []byte) (DICOMMeta, error) {
	bad := func(why string) (DICOMMeta, error) {
		return DICOMMeta{}, fmt.Errorf("syncclient: DICOM file: %s: %w", why, lane.ErrInvalid)
	}
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return bad("no DICM preamble")
	}
	var m DICOMMeta
	p := 132
	for p+8 <= len(b) {
		group := binary.LittleEndian.Uint16(b[p:])
		elem := binary.LittleEndian.Uint16(b[p+2:])
		if group != 0x0002 {
			break
		}
		vr := string(b[p+4 : p+6])
		var n, hdr int
		switch vr {
		case "OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV":
			if p+12 > len(b) {
				return bad("truncated meta element")
			}
			n, hdr = int(binary.LittleEndian.Uint32(b[p+8:])), 12
		default:
			n, hdr = int(binary.LittleEndian.Uint16(b[p+6:])), 8
		}
		if n < 0 || p+hdr+n > len(b) || p+hdr+n < p {
			return bad("truncated meta element")
		}
		val := strings.TrimRight(string(b[p+hdr:p+hdr+n]), "\x00 ")
		switch elem {
		case 0x0002:
			m.SOPClassUID = val
		case 0x0003:
			m.SOPInstanceUID = val
		case 0x0010:
			m.TransferSyntax = val
		}
		p += hdr + n
	}
	if m.SOPInstanceUID == "" || m.SOPClassUID == "" {
		return bad("meta header without SOP class or instance UID")
	}
	return m, nil
}

// stow stores one DICOM file byte for byte with STOW-RS. The same instance
// with the same bytes is accepted again (idempotent); a failure for our
// instance is an error (lane.ErrConflict when the server holds different
// bytes under the same UID).
func (c *Client) stow(ctx context.Context, data []byte, meta DICOMMeta, user lane.UserID) error {
	var bnd [12]byte
	_, _ = rand.Read(bnd[:])
	boundary := "examlane-" + hex.EncodeToString(bnd[:])
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	pw, err := mw.CreatePart(map[string][]string{"Content-Type": {fhir.MediaTypeDICOM}})
	if err != nil {
		return err
	}
	if _, err := pw.Write(data); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	resp, err := c.do(ctx, request{op: "store DICOM instance", method: http.MethodPost,
		url: c.origin + c.cfg.DICOMwebBase + "/studies", body: body.Bytes(),
		contentType: `multipart/related; type="application/dicom"; boundary=` + boundary,
		accept:      "application/dicom+json", user: user})
	var he *HTTPError
	if err != nil && !(errors.As(err, &he) && he.Status == http.StatusConflict) {
		return err
	}
	failed, reason := stowFailed(resp.body, meta.SOPInstanceUID)
	if failed {
		if reason == 0xA700 || he != nil {
			return fmt.Errorf("syncclient: store DICOM instance: the server holds different bytes under the same UID: %w", lane.ErrConflict)
		}
		return fmt.Errorf("syncclient: store DICOM instance: refused (reason %#04x): %w", reason, lane.ErrInvalid)
	}
	return nil
}

// stowFailed looks for sop in a STOW-RS response's FailedSOPSequence
// (0008,1198) and returns its FailureReason (0008,1197).
func stowFailed(body []byte, sop string) (bool, int) {
	var resp map[string]struct {
		Value []map[string]struct {
			Value []json.RawMessage `json:"Value"`
		} `json:"Value"`
	}
	if json.Unmarshal(body, &resp) != nil {
		return false, 0
	}
	for _, item := range resp["00081198"].Value {
		uid := ""
		if v := item["00081155"].Value; len(v) > 0 {
			_ = json.Unmarshal(v[0], &uid)
		}
		if uid != "" && uid != sop {
			continue
		}
		reason := 0
		if v := item["00081197"].Value; len(v) > 0 {
			_ = json.Unmarshal(v[0], &reason)
		}
		return true, reason
	}
	return false, 0
}

// pushImage creates an image on the server: a DICOM file by STOW-RS then
// its ImagingStudy; a photo as Binary + DocumentReference.
func (c *Client) pushImage(ctx context.Context, ch change, img lane.Image) (pushResult, error) {
	data, err := c.cfg.Store.ImageData(ctx, img.ID)
	if err != nil {
		return pushResult{}, fmt.Errorf("syncclient: image bytes: %w", err)
	}
	if fhir.IsDICOM(img) {
		meta, err := ParseDICOMMeta(data)
		if err != nil {
			return pushResult{}, err
		}
		if img.InstanceUID != "" && img.InstanceUID != meta.SOPInstanceUID {
			return pushResult{}, fmt.Errorf("syncclient: DICOM image: instance UID differs from the file's: %w", lane.ErrInvalid)
		}
		img.InstanceUID = meta.SOPInstanceUID
		if err := c.stow(ctx, data, meta, ch.actor.User); err != nil {
			return pushResult{}, err
		}
		return c.createResource(ctx, ch, c.mapper.ImagingStudy(img, meta.SOPClassUID), nil)
	}
	// A photo: if its DocumentReference exists, an earlier push landed.
	if sid, vid, err := c.findByLaneID(ctx, "DocumentReference", ch.id); err != nil {
		return pushResult{}, err
	} else if sid != "" {
		return pushResult{outcome: delivered, serverID: sid, serverVersion: vid}, nil
	}
	bin, err := fhir.Marshal(c.mapper.Binary(img, data))
	if err != nil {
		return pushResult{}, err
	}
	binCond := "_tag=" + url.QueryEscape(fhir.SystemLaneID+"|binary:"+ch.id)
	if c.caps.transactions {
		urn := urnFor("binary:" + ch.id)
		extra := []fhir.BundleEntry{{FullURL: urn, Resource: bin,
			Request: &fhir.BundleRequest{Method: http.MethodPost, URL: "Binary", IfNoneExist: binCond}}}
		res, err := c.createResource(ctx, ch, c.mapper.DocumentReference(img, urn), extra)
		if !errors.Is(err, errNoTransactions) {
			return res, err
		}
	}
	w, err := c.single(ctx, request{op: "create Binary", method: http.MethodPost, url: c.fhirURL("Binary"), body: bin,
		header: map[string]string{"If-None-Exist": binCond}, user: ch.actor.User})
	if err != nil {
		return pushResult{}, err
	}
	if w.id == "" {
		return pushResult{}, fmt.Errorf("syncclient: create Binary: the server did not say the new id: %w", lane.ErrInvalid)
	}
	return c.createResource(ctx, ch, c.mapper.DocumentReference(img, "Binary/"+w.id), nil)
}

// fetchImageData downloads a pulled image's bytes: the Binary a photo's
// attachment points at, or the DICOM instance by WADO-RS.
func (c *Client) fetchImageData(ctx context.Context, res fhir.Resource, img lane.Image) ([]byte, error) {
	if fhir.IsDICOM(img) {
		u := fmt.Sprintf("%s%s/studies/%s/series/%s/instances/%s", c.origin, c.cfg.DICOMwebBase,
			url.PathEscape(img.StudyUID), url.PathEscape(img.SeriesUID), url.PathEscape(img.InstanceUID))
		resp, err := c.do(ctx, request{op: "retrieve DICOM instance", method: http.MethodGet, url: u,
			accept: `multipart/related; type="application/dicom"`})
		if err != nil {
			return nil, err
		}
		return firstPart(resp.header.Get("Content-Type"), resp.body)
	}
	ref := fhir.BinaryURL(res)
	id := fhir.RefID(&fhir.Reference{Reference: ref}, "Binary")
	if id == "" {
		return nil, fmt.Errorf("syncclient: image without a Binary reference: %w", lane.ErrNotFound)
	}
	resp, err := c.do(ctx, request{op: "read Binary", method: http.MethodGet, url: c.fhirURL("Binary/" + url.PathEscape(id))})
	if err != nil {
		return nil, err
	}
	r, err := fhir.Decode(resp.body)
	if err != nil {
		return nil, err
	}
	b, ok := r.(*fhir.Binary)
	if !ok {
		return nil, fmt.Errorf("syncclient: read Binary: not a Binary: %w", lane.ErrInvalid)
	}
	return b.Data, nil
}

// firstPart returns the first part of a multipart/related body.
func firstPart(contentType string, body []byte) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("syncclient: DICOM retrieve: not multipart: %w", lane.ErrInvalid)
	}
	part, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).NextPart()
	if err != nil {
		return nil, fmt.Errorf("syncclient: DICOM retrieve: %w", lane.ErrInvalid)
	}
	return io.ReadAll(part)
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
