// Package rxpdf writes a spectacle prescription as a one-page PDF 1.4
// document. It is deliberately small: text only, in the standard Helvetica
// fonts that every PDF reader has (so no font is embedded), WinAnsi
// encoding, an uncompressed content stream and a classic cross-reference
// table. It knows nothing of Fyne or of the lane's types: the caller
// formats every value.
//
// The document carries no creation date or other metadata about the
// patient: the same Doc always gives the same bytes.
package rxpdf

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Row is one eye's line of the prescription table.
type Row struct {
	Eye      string // "R" or "L"
	Sphere   string // "-2.25"
	Cylinder string // "-0.75"
	Axis     string // "180"
	Add      string // "+2.00", "" for none
	Prism    string // "0.50 BI", "" for none
}

// Doc is what the page shows.
type Doc struct {
	Practice   string
	Title      string // "Spectacle prescription" when empty
	Patient    string
	BirthDate  string
	Issued     string
	Rows       []Row
	PD         string // "63.5 mm", "" for none
	Lens       string // "Single vision"
	Prescriber string
	Expires    string
	Note       string
	// Demo prints a banner saying the data is synthetic.
	Demo bool
}

// Page geometry: A4 in points.
const (
	pageW  = 595
	pageH  = 842
	margin = 56
)

// Write writes d as a PDF document to w.
func Write(w io.Writer, d Doc) error {
	content := pageContent(d)
	title := d.Title
	if title == "" {
		title = "Spectacle prescription"
	}
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>", pageW, pageH),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		fmt.Sprintf("<< /Title %s /Producer (Examlane) >>", literal(title)),
	}

	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n") // the binary comment tells transfer tools the file is binary
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n", len(objects)+1)
	b.WriteString("0000000000 65535 f\r\n")
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, len(objects), xref)
	_, err := w.Write(b.Bytes())
	if err != nil {
		return fmt.Errorf("rxpdf: %w", err)
	}
	return nil
}

// page builds a content stream line by line from the top of the page.
type page struct {
	b strings.Builder
	y float64
}

// text writes s at x on the current line in the given font and size.
func (p *page) text(x float64, bold bool, size float64, s string) {
	font := "F1"
	if bold {
		font = "F2"
	}
	fmt.Fprintf(&p.b, "BT /%s %g Tf %g %g Td %s Tj ET\n", font, size, x, p.y, literal(s))
}

// line moves down by dy points.
func (p *page) line(dy float64) { p.y -= dy }

// rule draws a horizontal line across the text column at the current line.
func (p *page) rule() {
	fmt.Fprintf(&p.b, "0.5 w %d %g m %d %g l S\n", margin, p.y, pageW-margin, p.y)
}

// tableX are the x positions of the prescription table's columns.
var tableX = []float64{margin, margin + 60, margin + 140, margin + 230, margin + 290, margin + 370}

// pageContent lays out the prescription.
func pageContent(d Doc) string {
	p := &page{y: pageH - margin - 18}
	p.text(margin, true, 18, d.Practice)
	p.line(28)
	title := d.Title
	if title == "" {
		title = "Spectacle prescription"
	}
	p.text(margin, true, 14, title)
	if d.Demo {
		p.line(20)
		p.text(margin, true, 12, "SYNTHETIC DEMO DATA - not a real patient or prescription")
	}
	p.line(30)
	field := func(label, value string) {
		if value == "" {
			return
		}
		p.text(margin, true, 11, label)
		p.text(margin+110, false, 11, value)
		p.line(17)
	}
	field("Patient", d.Patient)
	field("Date of birth", d.BirthDate)
	field("Date", d.Issued)
	p.line(14)

	heads := []string{"Eye", "Sphere", "Cylinder", "Axis", "Add", "Prism"}
	for i, h := range heads {
		p.text(tableX[i], true, 11, h)
	}
	p.line(6)
	p.rule()
	p.line(16)
	for _, r := range d.Rows {
		for i, v := range []string{r.Eye, r.Sphere, r.Cylinder, r.Axis, r.Add, r.Prism} {
			if v == "" {
				v = "-"
			}
			p.text(tableX[i], i == 0, 12, v)
		}
		p.line(20)
	}
	p.rule()
	p.line(24)
	field("PD", d.PD)
	field("Lens", d.Lens)
	field("Prescriber", d.Prescriber)
	field("Valid until", d.Expires)
	if d.Note != "" {
		p.line(8)
		field("Note", d.Note)
	}
	p.y = margin
	p.text(margin, false, 8, "Printed by Examlane.")
	return strings.TrimSuffix(p.b.String(), "\n")
}

// literal returns s as a PDF literal string in WinAnsi encoding: the
// delimiters and backslash escaped, characters WinAnsi lacks replaced by
// '?'.
func literal(s string) string {
	var b strings.Builder
	b.WriteByte('(')
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r >= 0xa0 && r <= 0xff:
			fmt.Fprintf(&b, "\\%03o", r)
		default:
			if c, ok := winAnsi[r]; ok {
				fmt.Fprintf(&b, "\\%03o", c)
			} else {
				b.WriteByte('?')
			}
		}
	}
	b.WriteByte(')')
	return b.String()
}

// winAnsi maps the characters of WinAnsiEncoding's 0x80–0x9F range.
var winAnsi = map[rune]byte{
	'€': 0x80, '‚': 0x82, '„': 0x84, '…': 0x85, '‘': 0x91, '’': 0x92,
	'“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '™': 0x99,
}
