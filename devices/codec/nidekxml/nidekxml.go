// Package nidekxml is the codec for NIDEK's own XML exports ("nidek-xml"),
// written by LAN/USB-connected NIDEK instruments:
//
//   - <Ophthalmology> without namespaces (LM-7, LM-1800P, RT-6100, …):
//     JOIA-like Common and Measure type="LM|REF|KM|TM" blocks, with NIDEK's
//     spelling "Sphare", PrismX/PrismY with base="in|out|up|down", polar
//     Prism/PrismBase, ADD/ADD2/NearSphare, and I/S eye blocks on the
//     LM-1800P. Version NIDEK_V1.01 adds ConfidenceIndex and Error.
//   - <Data> (ARK-510A/560A, AR-360A, NT-530P): per-eye AR, KM, NT and
//     PACHY blocks with List/Median/Average elements, often in UTF-16LE
//     with a byte-order mark and with units inside the text ("550um").
package nidekxml

import (
	"bytes"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/internal/ophxml"
	"github.com/examlane/examlane/devices/codec/internal/xmltree"
	"github.com/examlane/examlane/lane"
)

// Name is the dialect's registered name.
const Name = "nidek-xml"

// Codec is the nidek-xml codec. It is stateless.
type Codec struct{}

func init() { codec.Register(Codec{}) }

// Name returns "nidek-xml".
func (Codec) Name() string { return Name }

// Framing returns nil: these exports are whole files.
func (Codec) Framing() *codec.FrameSpec { return nil }

// Sniff accepts XML whose root is <Ophthalmology> without JOIA namespaces,
// or <Data>.
func (Codec) Sniff(data []byte) bool {
	head := data[:min(len(data), 16<<10)]
	text, err := xmltree.ToUTF8(head)
	if err != nil {
		return false
	}
	if bytes.Contains(text, []byte("www.joia.or.jp/standardized/namespaces")) {
		return false
	}
	return bytes.Contains(text, []byte("<Ophthalmology")) || bytes.Contains(text, []byte("<Data>")) || bytes.Contains(text, []byte("<Data "))
}

type namespaces struct{}

// URI returns the namespace of a data class.
func (namespaces) URI(string) string { return "" }

// Class returns the data class of a Measure element, "" for others.
func (namespaces) Class(m *xmltree.Node) string {
	if m.Space != "" {
		return ""
	}
	for _, name := range []string{"type", "Type"} {
		if t, ok := m.Attribute(name); ok {
			return upper(t)
		}
	}
	return ""
}

func upper(s string) string { return string(bytes.ToUpper(bytes.TrimSpace([]byte(s)))) }

// Decode decodes one file.
func (Codec) Decode(data []byte) (lane.Capture, error) {
	root, err := xmltree.Parse(data, xmltree.DefaultLimits)
	if err != nil {
		return lane.Capture{}, codec.Invalidf(Name, "%v", err)
	}
	dec := ophxml.Decoder{NS: namespaces{}, Format: Name}
	switch root.Local {
	case "Ophthalmology":
		c, err := dec.Decode(root)
		if err == nil && c.Instrument.Vendor == "" {
			c.Instrument.Vendor = "NIDEK"
		}
		return c, err
	case "Data":
		return dec.DecodeData(root)
	}
	return lane.Capture{}, codec.Invalidf(Name, "root element is neither Ophthalmology nor Data")
}
