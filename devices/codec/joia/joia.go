// Package joia is the codec for JOIA XML exports ("joia"): the "Common
// Specification for output data of Ophthalmic Examination Equipment" of
// the Japan Ophthalmic Instrument Association, which ISO/TS 22218-1 follows
// and TOPCON (KR-800S, KR-1, TRK-2P, CT-800A, CT-1P, CL-300, Solos,
// CV-5000) and others write, one file per measurement.
//
// A file is <Ophthalmology> with one Common block and Measure blocks of the
// data classes REF, KM, TM, LM and SBJ in any combination, each in its own
// namespace http://www.joia.or.jp/standardized/namespaces/<class>.
// Elements are matched by namespace URI and local name, never by prefix;
// blocks in other namespaces (vendor extensions such as TOPCON's
// non-namespaced <TM>) are ignored. Files come in Shift-JIS, UTF-8 or
// UTF-16 (with a byte-order mark); numbers may be padded (" +3.75", "  9")
// or bare ("0", "-0.5"); an empty element means "not measured"; an Error
// element replaces a reading's values and becomes an error reading.
package joia

import (
	"bytes"
	"strings"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/internal/ophxml"
	"github.com/examlane/examlane/devices/codec/internal/xmltree"
	"github.com/examlane/examlane/lane"
)

// Name is the dialect's registered name.
const Name = "joia"

// NamespacePrefix starts every JOIA namespace URI; the data class follows.
const NamespacePrefix = "http://www.joia.or.jp/standardized/namespaces/"

// Codec is the joia codec. It is stateless.
type Codec struct{}

func init() { codec.Register(Codec{}) }

// Name returns "joia".
func (Codec) Name() string { return Name }

// Framing returns nil: JOIA data comes as whole files.
func (Codec) Framing() *codec.FrameSpec { return nil }

// Sniff accepts XML that declares a JOIA namespace.
func (Codec) Sniff(data []byte) bool {
	head := data[:min(len(data), 16<<10)]
	text, err := xmltree.ToUTF8(head)
	if err != nil {
		return false
	}
	return bytes.Contains(text, []byte("<")) && bytes.Contains(text, []byte(NamespacePrefix))
}

type namespaces struct{}

// URI returns the namespace of a data class.
func (namespaces) URI(class string) string { return NamespacePrefix + class }

// Class returns the data class of a Measure element, "" for others.
func (namespaces) Class(m *xmltree.Node) string {
	if !strings.HasPrefix(m.Space, NamespacePrefix) {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(m.Space, NamespacePrefix), "/")
}

// Decode decodes one JOIA file.
func (Codec) Decode(data []byte) (lane.Capture, error) {
	root, err := xmltree.Parse(data, xmltree.DefaultLimits)
	if err != nil {
		return lane.Capture{}, codec.Invalidf(Name, "%v", err)
	}
	if !usesJOIA(root) {
		return lane.Capture{}, codec.Invalidf(Name, "no element in a JOIA namespace (NIDEK's own XML is the nidek-xml format)")
	}
	return ophxml.Decoder{NS: namespaces{}, Format: Name}.Decode(root)
}

func usesJOIA(root *xmltree.Node) bool {
	for _, c := range root.Children {
		if strings.HasPrefix(c.Space, NamespacePrefix) {
			return true
		}
	}
	return false
}
