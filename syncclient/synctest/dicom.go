package synctest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

type dicomInstance struct {
	study, series, sop, class string
	data                      []byte
}

// DICOMCount returns how many instances the server stores.
func (s *Server) DICOMCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dicom)
}

// DICOMInstance returns the stored bytes of an instance.
func (s *Server) DICOMInstance(sop string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.dicom[sop]
	if !ok {
		return nil, false
	}
	return in.data, true
}

func firstString(ds dicom.Dataset, t tag.Tag) string {
	el, err := ds.FindElementByTag(t)
	if err != nil {
		return ""
	}
	if v, ok := el.Value.GetValue().([]string); ok && len(v) > 0 {
		return strings.TrimRight(v[0], "\x00 ")
	}
	return ""
}

// dicomweb serves STOW-RS (POST /dicomweb/studies) and WADO-RS instance
// retrieval.
func (s *Server) dicomweb(w http.ResponseWriter, r *http.Request, body []byte) {
	p := strings.TrimPrefix(r.URL.Path, DICOMwebBase)
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case r.Method == http.MethodPost && p == "/studies":
		s.stow(w, r, body)
	case r.Method == http.MethodGet && len(parts) == 6 && parts[0] == "studies" && parts[2] == "series" && parts[4] == "instances":
		s.mu.Lock()
		in, ok := s.dicom[parts[5]]
		s.mu.Unlock()
		if !ok || in.study != parts[1] || in.series != parts[3] {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		pw, _ := mw.CreatePart(map[string][]string{"Content-Type": {"application/dicom"}})
		_, _ = pw.Write(in.data)
		_ = mw.Close()
		w.Header().Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
		_, _ = w.Write(buf.Bytes())
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (s *Server) stow(w http.ResponseWriter, r *http.Request, body []byte) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" || params["boundary"] == "" {
		http.Error(w, "want multipart/related", http.StatusUnsupportedMediaType)
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var refs, fails []any
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, "bad multipart body", http.StatusBadRequest)
			return
		}
		data, _ := io.ReadAll(part)
		ds, err := dicom.Parse(bytes.NewReader(data), int64(len(data)), nil, dicom.SkipPixelData())
		if err != nil {
			fails = append(fails, map[string]any{"00081197": map[string]any{"vr": "US", "Value": []int{0xC000}}})
			continue
		}
		in := &dicomInstance{
			study: firstString(ds, tag.StudyInstanceUID), series: firstString(ds, tag.SeriesInstanceUID),
			sop: firstString(ds, tag.SOPInstanceUID), class: firstString(ds, tag.SOPClassUID), data: data,
		}
		item := map[string]any{
			"00081150": map[string]any{"vr": "UI", "Value": []string{in.class}},
			"00081155": map[string]any{"vr": "UI", "Value": []string{in.sop}},
		}
		s.mu.Lock()
		old, exists := s.dicom[in.sop]
		switch {
		case exists && !bytes.Equal(old.data, data):
			item["00081197"] = map[string]any{"vr": "US", "Value": []int{0xA700}}
			fails = append(fails, item)
		default:
			if !exists {
				s.dicom[in.sop] = in
				s.writes = append(s.writes, WriteRecord{Seq: len(s.writes) + 1, Type: "DICOM", ID: in.sop, Method: "STOW", At: s.now()})
			}
			refs = append(refs, item)
		}
		s.mu.Unlock()
	}
	out := map[string]any{}
	if len(refs) > 0 {
		out["00081199"] = map[string]any{"vr": "SQ", "Value": refs}
	}
	if len(fails) > 0 {
		out["00081198"] = map[string]any{"vr": "SQ", "Value": fails}
	}
	status := http.StatusOK
	switch {
	case len(fails) > 0 && len(refs) > 0:
		status = http.StatusAccepted
	case len(fails) > 0:
		status = http.StatusConflict
	}
	w.Header().Set("Content-Type", "application/dicom+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// DICOMFile builds a minimal Ophthalmic Photography 8-bit Part-10 file
// (explicit VR little endian) with the given UIDs and a few bytes of
// synthetic pixel data, for tests.
func DICOMFile(study, series, sop string) []byte {
	const opClass = "1.2.840.10008.5.1.4.1.1.77.1.5.1"
	const explicitLE = "1.2.840.10008.1.2.1"
	var meta bytes.Buffer
	writeEl(&meta, 0x0002, 0x0001, "OB", []byte{0, 1})
	writeEl(&meta, 0x0002, 0x0002, "UI", uid(opClass))
	writeEl(&meta, 0x0002, 0x0003, "UI", uid(sop))
	writeEl(&meta, 0x0002, 0x0010, "UI", uid(explicitLE))
	var f bytes.Buffer
	f.Write(make([]byte, 128))
	f.WriteString("DICM")
	gl := make([]byte, 4)
	binary.LittleEndian.PutUint32(gl, uint32(meta.Len()))
	writeEl(&f, 0x0002, 0x0000, "UL", gl)
	f.Write(meta.Bytes())
	writeEl(&f, 0x0008, 0x0016, "UI", uid(opClass))
	writeEl(&f, 0x0008, 0x0018, "UI", uid(sop))
	writeEl(&f, 0x0008, 0x0060, "CS", []byte("OP"))
	writeEl(&f, 0x0010, 0x0020, "LO", []byte("TEST-0001 "))
	writeEl(&f, 0x0020, 0x000D, "UI", uid(study))
	writeEl(&f, 0x0020, 0x000E, "UI", uid(series))
	writeEl(&f, 0x0020, 0x0060, "CS", []byte("R "))
	writeEl(&f, 0x0028, 0x0002, "US", []byte{1, 0})
	writeEl(&f, 0x0028, 0x0004, "CS", []byte("MONOCHROME2 "))
	writeEl(&f, 0x0028, 0x0010, "US", []byte{2, 0})
	writeEl(&f, 0x0028, 0x0011, "US", []byte{2, 0})
	writeEl(&f, 0x0028, 0x0100, "US", []byte{8, 0})
	writeEl(&f, 0x0028, 0x0101, "US", []byte{8, 0})
	writeEl(&f, 0x0028, 0x0102, "US", []byte{7, 0})
	writeEl(&f, 0x0028, 0x0103, "US", []byte{0, 0})
	writeEl(&f, 0x7FE0, 0x0010, "OB", []byte{10, 20, 30, 40})
	return f.Bytes()
}

func uid(s string) []byte {
	b := []byte(s)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func writeEl(w *bytes.Buffer, group, elem uint16, vr string, val []byte) {
	_ = binary.Write(w, binary.LittleEndian, group)
	_ = binary.Write(w, binary.LittleEndian, elem)
	w.WriteString(vr)
	switch vr {
	case "OB", "OW", "SQ", "UN", "UT":
		w.Write([]byte{0, 0})
		_ = binary.Write(w, binary.LittleEndian, uint32(len(val)))
	default:
		_ = binary.Write(w, binary.LittleEndian, uint16(len(val)))
	}
	w.Write(val)
}
