package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// wadoParts splits a WADO-RS multipart response into its parts.
func wadoParts(t *testing.T, contentType string, body []byte) [][]byte {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/related" || params["type"] != "application/dicom" {
		t.Fatalf("WADO-RS content type %q", contentType)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var parts [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Type") != "application/dicom" {
			t.Errorf("part type %q", p.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, b)
	}
}

// failureReasons returns the FailedSOPSequence reasons of a STOW response.
func failureReasons(t *testing.T, body []byte) []float64 {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("STOW response: %v", err)
	}
	var out []float64
	if f, ok := m["00081198"].(map[string]any); ok {
		for _, it := range f["Value"].([]any) {
			out = append(out, it.(map[string]any)["00081197"].(map[string]any)["Value"].([]any)[0].(float64))
		}
	}
	return out
}

func TestSTOWThenWADO(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	d1, in1 := testOP(t, "DEMO-0001", 1)
	d2, in2 := testOP(t, "DEMO-0001", 2)
	in2.StudyUID = in1.StudyUID // two series of one study
	d2, err := buildOPDICOM(in2)
	if err != nil {
		t.Fatal(err)
	}
	ct, body := stowBody(t, d1, d2)
	resp, got := a.do("POST", "/dicomweb/studies", body, "Content-Type", ct)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/dicom+json" {
		t.Fatalf("STOW: %d %s %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), got)
	}
	if r := failureReasons(t, got); len(r) != 0 {
		t.Errorf("failures %v", r)
	}
	inst := func(in opInstance) string {
		return fmt.Sprintf("/dicomweb/studies/%s/series/%s/instances/%s", in.StudyUID, in.SeriesUID, in.SOPUID)
	}
	resp, got = a.do("GET", inst(in1), nil, "Accept", `multipart/related; type="application/dicom"`)
	parts := wadoParts(t, resp.Header.Get("Content-Type"), got)
	if len(parts) != 1 || !bytes.Equal(parts[0], d1) {
		t.Fatalf("WADO-RS instance: %d parts, identical %v", len(parts), len(parts) == 1 && bytes.Equal(parts[0], d1))
	}
	resp, got = a.do("GET", "/dicomweb/studies/"+in1.StudyUID, nil)
	if parts := wadoParts(t, resp.Header.Get("Content-Type"), got); len(parts) != 2 {
		t.Errorf("WADO-RS study: %d parts, want 2", len(parts))
	}
	// Rendered: JPEG baseline is passed through unchanged (as stored: an
	// odd-length JPEG's fragment carries DICOM's padding byte).
	resp, got = a.do("GET", inst(in1)+"/rendered", nil, "Accept", "image/jpeg")
	want := in1.JPEG
	if len(want)%2 == 1 {
		want = append(append([]byte{}, want...), 0)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || !bytes.Equal(got, want) {
		t.Errorf("rendered: %d %s, passthrough %v", resp.StatusCode, resp.Header.Get("Content-Type"), bytes.Equal(got, want))
	}
	a.must(406, "GET", inst(in1)+"/rendered", nil, "Accept", "image/png")
	a.must(406, "GET", inst(in1), nil, "Accept", "application/json")
	// Idempotent by SOP instance: same bytes again succeed, other bytes fail.
	ct, body = stowBody(t, d1)
	a.must(200, "POST", "/dicomweb/studies", body, "Content-Type", ct)
	changed := append([]byte{}, d1...)
	changed[len(changed)-10] ^= 0xFF
	ct, body = stowBody(t, changed)
	resp, got = a.do("POST", "/dicomweb/studies", body, "Content-Type", ct)
	if resp.StatusCode != 409 {
		t.Errorf("conflicting STOW: %d", resp.StatusCode)
	}
	if r := failureReasons(t, got); len(r) != 1 || r[0] != failDuplicate {
		t.Errorf("conflict reasons %v, want [%d]", r, failDuplicate)
	}
	_, got = a.do("GET", inst(in1), nil)
	if !bytes.Contains(got, d1) {
		t.Error("the first copy was not kept")
	}
	// A part that is not DICOM fails alone: 202 with one failure.
	d3, _ := testOP(t, "DEMO-0002", 3)
	ct, body = stowBody(t, d3, []byte("not dicom"))
	resp, got = a.do("POST", "/dicomweb/studies", body, "Content-Type", ct)
	if resp.StatusCode != 202 {
		t.Errorf("partial STOW: %d", resp.StatusCode)
	}
	if r := failureReasons(t, got); len(r) != 1 || r[0] != failCannotUnderstand {
		t.Errorf("partial reasons %v", r)
	}
	// STOW to a study URL refuses instances of other studies.
	ct, body = stowBody(t, d3)
	resp, got = a.do("POST", "/dicomweb/studies/1.2.3", body, "Content-Type", ct)
	if r := failureReasons(t, got); resp.StatusCode != 409 || len(r) != 1 || r[0] != failStudyMismatch {
		t.Errorf("study mismatch: %d %v", resp.StatusCode, r)
	}
	a.must(400, "POST", "/dicomweb/studies", "x", "Content-Type", "application/dicom")
	// QIDO-RS.
	_, q := a.do("GET", "/dicomweb/studies?PatientID=DEMO-0001", nil)
	var studies []map[string]map[string]any
	if err := json.Unmarshal(q, &studies); err != nil || len(studies) != 1 {
		t.Fatalf("QIDO studies: %v %s", err, q)
	}
	if v := studies[0]["0020000D"]["Value"].([]any)[0]; v != in1.StudyUID {
		t.Errorf("QIDO study uid %v", v)
	}
	if v := studies[0]["00201208"]["Value"].([]any)[0]; v != float64(2) {
		t.Errorf("QIDO instance count %v", v)
	}
	_, q = a.do("GET", "/dicomweb/studies/"+in1.StudyUID+"/series", nil)
	if n := strings.Count(string(q), "0020000E"); n != 2 {
		t.Errorf("QIDO series: %d", n)
	}
	_, q = a.do("GET", "/dicomweb/studies/"+in1.StudyUID+"/series/"+in2.SeriesUID+"/instances", nil)
	if !strings.Contains(string(q), in2.SOPUID) || strings.Contains(string(q), in1.SOPUID) {
		t.Errorf("QIDO instances: %s", q)
	}
	a.must(400, "GET", "/dicomweb/studies?Bogus=1", nil)
}

func TestRenderNative(t *testing.T) {
	w, h := 8, 4
	grey := make([]byte, w*h)
	rgb := make([]byte, w*h*3)
	for i := range grey {
		grey[i] = byte(i * 7)
		rgb[3*i], rgb[3*i+1], rgb[3*i+2] = 200, byte(i*5), 30
	}
	for name, d := range map[string][]byte{
		"grey": buildNativeDICOM(newUID(), newUID(), newUID(), w, h, 1, grey),
		"rgb":  buildNativeDICOM(newUID(), newUID(), newUID(), w, h, 3, rgb),
	} {
		j, err := renderJPEG(d)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		img, err := jpeg.Decode(bytes.NewReader(j))
		if err != nil || img.Bounds().Dx() != w || img.Bounds().Dy() != h {
			t.Errorf("%s: decoded %v %v", name, err, img)
		}
	}
	// 16-bit native is not rendered.
	d16 := buildNativeDICOM(newUID(), newUID(), newUID(), w, h, 1, grey)
	d16 = bytes.Replace(d16, []byte{0x00, 0x01, 'U', 'S', 2, 0, 8, 0}, []byte{0x00, 0x01, 'U', 'S', 2, 0, 16, 0}, 1)
	if _, err := renderJPEG(d16); err == nil {
		t.Error("16-bit native rendered")
	}
	if _, err := renderJPEG([]byte("nope")); err == nil {
		t.Error("garbage rendered")
	}
}

// TestOPWriterDcmdump checks the Part-10 writer against dcmtk when present.
func TestOPWriterDcmdump(t *testing.T) {
	d, in := testOP(t, "DEMO-0042", 5)
	got, err := readDICOMInfo(d)
	if err != nil {
		t.Fatal(err)
	}
	if got.SOPInstance != in.SOPUID || got.Study != in.StudyUID || got.SOPClass != SOPClassOP8Bit || got.TransferSyntax != tsJPEGBaseline ||
		got.Laterality != "R" || got.PatientID != "DEMO-0042" || got.Modality != "OP" || got.Rows != 72 || got.Columns != 96 {
		t.Errorf("parsed %+v", got)
	}
	dcmdump, err := exec.LookPath("dcmdump")
	if err != nil {
		t.Skip("dcmdump (dcmtk) not installed; parsed with suyashkumar/dicom only")
	}
	f := filepath.Join(t.TempDir(), "op.dcm")
	if err := os.WriteFile(f, d, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(dcmdump, "-E", f).CombinedOutput()
	if err != nil {
		t.Fatalf("dcmdump: %v\n%s", err, out)
	}
	for _, want := range []string{"=OphthalmicPhotography8BitImageStorage", "=JPEGBaseline", "(0020,0062) CS [R]", "(0008,0060) CS [OP]", "PixelSequence", "AcquisitionDeviceTypeCodeSequence"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dcmdump output lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(string(out)), "error") || strings.Contains(string(out), "W: ") {
		t.Errorf("dcmdump reports problems:\n%s", out)
	}
}

func TestCheckDICOMStructure(t *testing.T) {
	op, _ := testOP(t, "DEMO-S", 6)
	native := buildNativeDICOM(newUID(), newUID(), newUID(), 4, 2, 1, make([]byte, 8))
	for name, d := range map[string][]byte{"op": op, "native": native} {
		if _, err := checkDICOMStructure(d); err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
	// A huge declared length (the allocation the parser would attempt).
	huge := append([]byte{}, native...)
	i := bytes.Index(huge, []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0})
	huge[i+8], huge[i+9], huge[i+10], huge[i+11] = 0, 0, 0, 0xB0
	deep := writePart10("1.2", "1.2.3", tsExplicitLE, []dcmElem{nest(40)})
	bigEndian := writePart10("1.2", "1.2.3", tsExplicitBE, nil)
	for name, d := range map[string][]byte{
		"truncated": op[:len(op)-7], "huge length": huge, "deep nesting": deep, "big endian": bigEndian,
		"no preamble": op[4:], "empty": nil,
	} {
		if _, err := checkDICOMStructure(d); err == nil {
			t.Errorf("%s accepted", name)
		}
		if _, err := readDICOMInfo(d); err == nil {
			t.Errorf("%s: readDICOMInfo accepted", name)
		}
	}
}

// nest returns a sequence nested n deep.
func nest(n int) dcmElem {
	e := dStr(0x00100020, "LO", "X")
	for range n {
		e = dSQ(0x00082218, []dcmElem{e})
	}
	return e
}
