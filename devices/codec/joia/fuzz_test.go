package joia

import (
	"testing"

	"github.com/examlane/examlane/devices/codec/codectest"
)

// FuzzDecode: arbitrary bytes never panic or hang the decoder, and what it
// accepts keeps the codec contract. Seeds: testdata/fuzz/FuzzDecode (the
// synthetic files) and below.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`<Ophthalmology xmlns:r="http://www.joia.or.jp/standardized/namespaces/REF"><r:Measure type="REF"><r:REF><r:R><r:List No="1"><r:Sphere>-1</r:Sphere><r:Cylinder>-0.5</r:Cylinder><r:Axis>9</r:Axis></r:List></r:R></r:REF></r:Measure></Ophthalmology>`))
	f.Add([]byte(`<Ophthalmology xmlns:t="http://www.joia.or.jp/standardized/namespaces/TM"><t:Measure><t:TM><t:L><t:List><t:IOP_Pa unit="kPa">2.0</t:IOP_Pa></t:List></t:L></t:TM></t:Measure></Ophthalmology>`))
	f.Fuzz(func(t *testing.T, data []byte) { codectest.CheckDecode(t, Codec{}, data) })
}
