package nidekxml

import (
	"testing"

	"github.com/examlane/examlane/devices/codec/codectest"
)

// FuzzDecode: arbitrary bytes never panic or hang the decoder, and what it
// accepts keeps the codec contract. Seeds: testdata/fuzz/FuzzDecode (the
// synthetic files) and below.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`<Ophthalmology><Measure type="LM"><LM><R><Sphare>1</Sphare><Cylinder>-1</Cylinder><Axis>5</Axis><PrismX base="in">1</PrismX><Prism>2</Prism><PrismBase>45</PrismBase></R></LM></Measure></Ophthalmology>`))
	f.Add([]byte(`<Data><L><NT><NTList No = "1"><mmHg>14mmHg</mmHg></NTList></NT><PACHY><PACHYList><Thickness>0.550mm</Thickness></PACHYList></PACHY></L></Data>`))
	f.Fuzz(func(t *testing.T, data []byte) { codectest.CheckDecode(t, Codec{}, data) })
}
