// Package all registers every instrument codec: import it for its side
// effect wherever codecs are looked up by name or detected.
package all

import (
	_ "github.com/examlane/examlane/devices/codec/dcs"      // Vision Council DCS
	_ "github.com/examlane/examlane/devices/codec/joia"     // JOIA XML
	_ "github.com/examlane/examlane/devices/codec/nidekd"   // NIDEK D-block
	_ "github.com/examlane/examlane/devices/codec/nidekrt"  // NIDEK RT phoropters
	_ "github.com/examlane/examlane/devices/codec/nidekxml" // NIDEK XML
)
