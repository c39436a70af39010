package rxpdf_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/examlane/examlane/ui/rxpdf"
)

// sample is a synthetic prescription.
var sample = rxpdf.Doc{
	Practice: "Examlane Demo Practice",
	Patient:  "Ada Testperson",
	Issued:   "2026-11-23",
	Rows: []rxpdf.Row{
		{Eye: "R", Sphere: "-2.25", Cylinder: "-0.75", Axis: "180", Add: "+2.00"},
		{Eye: "L", Sphere: "-2.00", Cylinder: "-0.50", Axis: "175", Add: "+2.00", Prism: "0.50 BI"},
	},
	PD:         "63.5 mm",
	Lens:       "Progressive",
	Prescriber: "Dr Synthetic (opt-1)",
	Expires:    "2028-11-23",
	Demo:       true,
}

// parsed is what checkPDF reads back from a document.
type parsed struct {
	objects int
	content string
}

// checkPDF reads a PDF written by rxpdf as a reader would start to: the
// header, the trailer's startxref, the cross-reference table and every
// object it points to, and returns the content stream's text.
func checkPDF(b []byte) (parsed, error) {
	var p parsed
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) {
		return p, errors.New("no %PDF-1.4 header")
	}
	if !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		return p, errors.New("no %%EOF at the end")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		return p, errors.New("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if xref >= len(b) || !bytes.HasPrefix(b[xref:], []byte("xref\n0 ")) {
		return p, fmt.Errorf("startxref %d does not point at the xref table", xref)
	}
	rest := b[xref+len("xref\n"):]
	var first, count int
	if _, err := fmt.Sscanf(string(rest), "%d %d\n", &first, &count); err != nil {
		return p, fmt.Errorf("xref subsection header: %v", err)
	}
	rest = rest[bytes.IndexByte(rest, '\n')+1:]
	for i := range count {
		entry := rest[i*20 : (i+1)*20]
		if len(entry) != 20 || entry[18] != '\r' || entry[19] != '\n' {
			return p, fmt.Errorf("xref entry %d is not 20 bytes ending in CRLF: %q", i, entry)
		}
		if i == 0 {
			continue
		}
		off, _ := strconv.Atoi(string(entry[:10]))
		want := fmt.Sprintf("%d 0 obj\n", i)
		if off >= len(b) || !bytes.HasPrefix(b[off:], []byte(want)) {
			return p, fmt.Errorf("xref entry %d points at %d, which is not %q", i, off, want)
		}
	}
	p.objects = count - 1
	trailer := string(rest[count*20:])
	if !strings.HasPrefix(trailer, "trailer\n<< /Size "+strconv.Itoa(count)+" /Root 1 0 R") {
		return p, fmt.Errorf("trailer %q", trailer)
	}
	sm := regexp.MustCompile(`(?s)<< /Length (\d+) >>\nstream\n(.*?)\nendstream`).FindSubmatch(b)
	if sm == nil {
		return p, errors.New("no content stream")
	}
	if n, _ := strconv.Atoi(string(sm[1])); n != len(sm[2]) {
		return p, fmt.Errorf("content stream /Length %d, is %d bytes", n, len(sm[2]))
	}
	p.content = string(sm[2])
	return p, nil
}

func TestWriteParses(t *testing.T) {
	var buf bytes.Buffer
	if err := rxpdf.Write(&buf, sample); err != nil {
		t.Fatal(err)
	}
	p, err := checkPDF(buf.Bytes())
	if err != nil {
		t.Fatalf("written PDF does not parse: %v", err)
	}
	if p.objects != 7 {
		t.Errorf("%d objects, want 7", p.objects)
	}
	for _, want := range []string{
		"(Examlane Demo Practice) Tj", "(Ada Testperson) Tj", "(-2.25) Tj", "(-0.75) Tj", "(180) Tj",
		"(0.50 BI) Tj", "(63.5 mm) Tj", "(Progressive) Tj", "(Dr Synthetic \\(opt-1\\)) Tj", "(2028-11-23) Tj",
		"SYNTHETIC DEMO DATA", "/Helvetica",
	} {
		if !strings.Contains(p.content, want) && !strings.Contains(buf.String(), want) {
			t.Errorf("PDF lacks %q", want)
		}
	}
}

func TestWriteDeterministicAndDemoBanner(t *testing.T) {
	var a, b bytes.Buffer
	_ = rxpdf.Write(&a, sample)
	_ = rxpdf.Write(&b, sample)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes of the same document differ")
	}
	real := sample
	real.Demo = false
	var c bytes.Buffer
	_ = rxpdf.Write(&c, real)
	if strings.Contains(c.String(), "SYNTHETIC") {
		t.Error("a non-demo prescription carries the demo banner")
	}
	if _, err := checkPDF(c.Bytes()); err != nil {
		t.Error(err)
	}
}

func TestLiteralEncoding(t *testing.T) {
	doc := rxpdf.Doc{Practice: `Ünïcode (test) \ back — dash Δ`, Rows: []rxpdf.Row{{Eye: "R", Axis: "090°"}}}
	var buf bytes.Buffer
	if err := rxpdf.Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	p, err := checkPDF(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`(\334n\357code \(test\) \\ back \227 dash ?) Tj`, `(090\260) Tj`} {
		if !strings.Contains(p.content, want) {
			t.Errorf("content lacks %s:\n%s", want, p.content)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	if err := rxpdf.Write(failWriter{}, sample); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write to a failing writer = %v, want the write error", err)
	}
}
