package ui_test

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/uitest"
)

// TestOpticianVisit is the optician's path: open the chart, let the
// lensmeter's reading of the finished glasses arrive, read the verdict
// per eye and parameter, record the dispensing and export the Rx as PDF.
func TestOpticianVisit(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(uitest.Optician)
	f.open(f.p.Cleo)
	if got := f.d.Shell().Current(); got != ui.ScreenGlassesCheck {
		t.Fatalf("an optician lands on %q, want the glasses check", got)
	}
	f.ingest(uitest.Lensometry(uitest.Rx(t, "+1.25 -0.50 x 090 add +2.25"), uitest.Rx(t, "+1.62 -0.75 x 087 add +2.25")))
	measured := ui.GlassesMeasured(f.d)
	if measured[0].Text != "+1.25 -0.50 x 090 add +2.25" || measured[1].Text != "+1.62 -0.75 x 087 add +2.25" {
		t.Errorf("lensmeter fields %q, %q", measured[0].Text, measured[1].Text)
	}
	verdict, v := ui.GlassesVerdict(f.d)
	if !strings.HasPrefix(verdict, "✓ PASS") || v == nil || !v.Pass || len(v.Checks) != 10 {
		t.Fatalf("verdict %q, %+v", verdict, v)
	}
	m := f.markup()
	for _, want := range []string{"✓ PASS", "±0.16 D", "+0.12 D", "Z80.1-2015 PAL sphere"} {
		if !strings.Contains(m, want) {
			t.Errorf("the verification does not show %q", want)
		}
	}
	if strings.Contains(m, "✗ FAIL") {
		t.Error("a passing pair shows a FAIL row")
	}
	f.golden("glasses/pass.xml")

	// The same glasses with the right sphere 0.25 D off fail on that row.
	measured[0].SetText("+1.50 -0.50 x 090 add +2.25")
	f.tap("Verify (Enter)")
	verdict, v = ui.GlassesVerdict(f.d)
	if verdict != "✗ FAIL: 1 parameter out of tolerance" || v.Pass {
		t.Fatalf("verdict %q", verdict)
	}
	failed := v.Failed()
	if len(failed) != 1 || failed[0].Eye != lane.EyeRight || failed[0].Parameter != lane.CheckSphere {
		t.Errorf("failed checks %+v, want the right sphere", failed)
	}
	if !strings.Contains(f.markup(), "✗ FAIL") {
		t.Error("no ✗ FAIL row on screen")
	}
	f.tap("Record dispensing")
	f.tap("Yes") // confirm: returned to the lab
	var fail, pass bool
	for _, e := range f.audit(uitest.Optician.ID) {
		if strings.HasPrefix(e.Entity, "Dispensing/") {
			fail = fail || strings.Contains(e.Detail, "FAIL") && strings.Contains(e.Detail, "R sphere")
			pass = pass || strings.Contains(e.Detail, "PASS")
		}
	}
	if !fail {
		t.Error("the failed verification is not recorded")
	}

	measured[0].SetText("+1.25 -0.50 x 090 add +2.25")
	f.tap("Verify (Enter)")
	f.tap("Record dispensing")
	for _, e := range f.audit(uitest.Optician.ID) {
		pass = pass || strings.HasPrefix(e.Entity, "Dispensing/") && strings.Contains(e.Detail, "PASS")
	}
	if !pass {
		t.Error("the dispensing is not recorded")
	}
	appts, _ := f.p.Store.ListAppointments(ctx, lane.AppointmentFilter{PatientID: f.p.Cleo.ID})
	if appts[0].Status != lane.ApptDone {
		t.Errorf("appointment %s after dispensing, want done", appts[0].Status)
	}

	var buf closeBuffer
	ui.GlassesExport(f.d, &buf)
	if !buf.closed {
		t.Error("the PDF file was not closed")
	}
	checkRxPDF(t, buf.Bytes(), "(Cleo Example)", "(+1.25)", "(-0.50)", "(090)", "(+2.25)", "(Progressive)", "(2028-11-23)", "SYNTHETIC DEMO DATA", "(Examlane Demo Practice)")
	var exported bool
	for _, e := range f.audit(uitest.Optician.ID) {
		exported = exported || e.Action == lane.AuditExport && e.PatientID == f.p.Cleo.ID && strings.Contains(e.Detail, "rx-cleo")
	}
	if !exported {
		t.Error("the export is not audited")
	}
}

// TestExportNotWrittenWhenAuditFails checks that no byte reaches the file
// when the export cannot be audited.
func TestExportNotWrittenWhenAuditFails(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Optician)
	f.open(f.p.Cleo)
	f.p.Store.Fail = lane.ErrUnavailable
	var buf closeBuffer
	ui.GlassesExport(f.d, &buf)
	f.p.Store.Fail = nil
	if buf.Len() != 0 || !buf.closed {
		t.Errorf("wrote %d bytes (closed %v) although the audit failed", buf.Len(), buf.closed)
	}
	if !strings.Contains(f.markup(), "Not reachable right now") {
		t.Error("the failure is not shown")
	}
}

// closeBuffer is a bytes.Buffer that records Close.
type closeBuffer struct {
	bytes.Buffer
	closed bool
}

func (b *closeBuffer) Close() error { b.closed = true; return nil }

// checkRxPDF parses a PDF minimally: the header, the startxref pointing at
// the xref table, every object offset in it, and the text wanted in the
// content.
func checkRxPDF(t *testing.T, b []byte, want ...string) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.4")) {
		t.Fatalf("not a PDF: %q", b[:min(len(b), 20)])
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	off, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[off:], []byte("xref\n")) {
		t.Fatal("startxref does not point at the xref table")
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n\r\n`).FindAllSubmatch(b[off:], -1)
	for i, e := range entries {
		o, _ := strconv.Atoi(string(e[1]))
		if !bytes.HasPrefix(b[o:], []byte(strconv.Itoa(i+1)+" 0 obj")) {
			t.Errorf("xref entry %d points at %d, not at its object", i+1, o)
		}
	}
	for _, w := range want {
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("the PDF lacks %s", w)
		}
	}
}
