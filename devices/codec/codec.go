// Package codec holds the pure instrument codecs: bytes in, lane values out,
// no I/O. Each dialect lives in its own subpackage (nidekrt, nidekd, joia,
// nidekxml, dcs) and registers itself here from an init function; import
// devices/codec/all to get every one.
//
// A transport reads bytes, feeds them to a Framer built from the dialect's
// FrameSpec (NewFramer; Write with the arrival time, Expire from a ticker,
// Flush at the end of a stream), and hands each complete frame to the
// Codec's Decode. File drops skip the framer and decode the whole file;
// DecodeInput does either for a saved input. Report and WriteReport are the
// JSON contract of `examlane devices parse` and `devices listen`.
//
// Codecs report values in the units and cylinder convention the device
// used, never transposed or converted except where the lane has no unit for
// what was sent (kPa/hPa pressures become mmHg, with a warning). Device
// clocks are read as wall time in the lane's zone (time.Local). Errors and
// warnings never quote patient data: they name items and fields, not values.
package codec

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/examlane/examlane/lane"
)

// Codec decodes one instrument dialect. Implementations are stateless and
// safe for concurrent use. Decode never panics, never hangs and allocates in
// proportion to its input; malformed input returns an error wrapping
// lane.ErrInvalid that says what is wrong (without patient data). A frame
// that decodes with doubts (e.g. a missing checksum) returns its readings
// with Warnings set.
type Codec interface {
	// Name is the dialect's stable name: "nidek-rt", "nidek-dblock",
	// "joia", "nidek-xml", "dcs".
	Name() string
	// Sniff reports whether data (a frame or a whole file, possibly with
	// noise before it) looks like this dialect; used by --format auto.
	Sniff(data []byte) bool
	// Decode turns one complete frame or file into a capture. It fills
	// Format, Instrument (vendor, model, serial when sent), DeviceTime,
	// Readings and Warnings; it leaves Raw, SHA256, ID and ReceivedAt to the
	// caller.
	Decode(data []byte) (lane.Capture, error)
	// Framing returns how this dialect delimits frames on a byte stream;
	// nil for file-only dialects.
	Framing() *FrameSpec
}

// FrameSpec describes how a dialect delimits frames on a serial stream. A
// Framer built from it handles noise before the start, frames split across
// reads, several frames in one read, frames that never finish, and floods of
// garbage, using bounded memory.
type FrameSpec struct {
	// Start is the byte sequence that opens a frame (e.g. SOH, or "\x1c"
	// FS for DCS). Bytes before it are noise and are discarded.
	Start []byte
	// End is the byte sequence that closes a frame (e.g. EOT).
	End []byte
	// Trailer is how many bytes after End still belong to the frame (e.g. 4
	// hex checksum digits); optional CR/LF after the trailer are swallowed.
	Trailer int
	// TrailerChars, when not empty, lists the bytes a trailer may contain
	// (e.g. the hex digits of a checksum); any other byte ends the trailer
	// early, so a frame whose trailer is optional still completes. CR, LF
	// and the first byte of Start always end a trailer.
	TrailerChars string
	// MaxSize caps a frame; a longer one is abandoned with ErrOverflow. Zero
	// means DefaultMaxFrame.
	MaxSize int
	// InterByte abandons a frame when no byte arrives for this long;
	// Whole abandons a frame that has not finished this long after its start.
	// Zero disables the limit.
	InterByte time.Duration
	Whole     time.Duration
	// Mask7 clears bit 7 of every byte before framing: parity bits that a
	// 7-bit link (e.g. 2400 7E2) leaves in place when the port is opened
	// with 8 data bits.
	Mask7 bool
}

var (
	mu       sync.RWMutex
	registry = map[string]Codec{}
)

// Register adds a codec; it panics on a duplicate name (a programming error).
func Register(c Codec) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[c.Name()]; dup {
		panic("codec: duplicate " + c.Name())
	}
	registry[c.Name()] = c
}

// Lookup returns the codec with the given name.
func Lookup(name string) (Codec, error) {
	mu.RLock()
	defer mu.RUnlock()
	c, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("codec %q: %w (known: %v)", name, lane.ErrNotFound, namesLocked())
	}
	return c, nil
}

// Names lists the registered codecs, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Detect returns the first codec, in name order, whose Sniff accepts data.
func Detect(data []byte) (Codec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	for _, n := range namesLocked() {
		if registry[n].Sniff(data) {
			return registry[n], true
		}
	}
	return nil, false
}
