package ptp

import (
	"encoding/binary"
	"time"
	"unicode/utf16"

	"github.com/examlane/examlane/lane"
)

// DeviceInfo is the GetDeviceInfo data set (the parts the lane uses).
type DeviceInfo struct {
	StandardVersion     uint16
	VendorExtensionID   uint32
	VendorExtensionDesc string
	Operations          []uint16
	Events              []uint16
	CaptureFormats      []uint16
	ImageFormats        []uint16
	Manufacturer        string
	Model               string
	DeviceVersion       string
	SerialNumber        string
}

// Supports reports whether the device lists operation op.
func (d DeviceInfo) Supports(op uint16) bool {
	for _, o := range d.Operations {
		if o == op {
			return true
		}
	}
	return false
}

// ObjectInfo is the GetObjectInfo data set.
type ObjectInfo struct {
	StorageID        uint32
	Format           uint16
	ProtectionStatus uint16
	CompressedSize   uint32
	ThumbFormat      uint16
	ThumbSize        uint32
	ThumbWidth       uint32
	ThumbHeight      uint32
	ImageWidth       uint32
	ImageHeight      uint32
	ImageBitDepth    uint32
	ParentObject     uint32
	AssociationType  uint16
	AssociationDesc  uint32
	SequenceNumber   uint32
	Filename         string
	// CaptureDate and ModificationDate are as written ("YYYYMMDDThhmmss",
	// optionally with tenths and a zone); see ParseDateTime.
	CaptureDate      string
	ModificationDate string
	Keywords         string
}

// IsImage reports whether the object is a picture the lane can decode.
func (o ObjectInfo) IsImage() bool {
	switch o.Format {
	case FormatEXIFJPEG, FormatJFIF, FormatPNG, FormatTIFF, FormatBMP:
		return true
	}
	return false
}

// reader decodes a PTP data set; the first error sticks.
type reader struct {
	b   []byte
	err error
	set string
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = lane.Invalidf("ptp: %s data set: %s", r.set, what)
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// str reads a PTP string: a count of UCS-2 code units including the
// terminating NUL (0 for the empty string), then the units.
func (r *reader) str() string {
	nb := r.take(1)
	if nb == nil || nb[0] == 0 {
		return ""
	}
	b := r.take(2 * int(nb[0]))
	if b == nil {
		return ""
	}
	u := make([]uint16, 0, nb[0])
	for i := 0; i < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// arr16 reads an array of u16: a u32 count, then the elements. The count
// is checked against the bytes left before anything is allocated.
func (r *reader) arr16() []uint16 {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if uint64(n)*2 > uint64(len(r.b)) {
		r.fail("array longer than the data")
		return nil
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = r.u16()
	}
	return out
}

// arr32 reads an array of u32.
func (r *reader) arr32() []uint32 {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if uint64(n)*4 > uint64(len(r.b)) {
		r.fail("array longer than the data")
		return nil
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = r.u32()
	}
	return out
}

// ParseDeviceInfo decodes a GetDeviceInfo data set. Errors wrap
// lane.ErrInvalid.
func ParseDeviceInfo(b []byte) (DeviceInfo, error) {
	r := &reader{b: b, set: "DeviceInfo"}
	var d DeviceInfo
	d.StandardVersion = r.u16()
	d.VendorExtensionID = r.u32()
	r.u16() // vendor extension version
	d.VendorExtensionDesc = r.str()
	r.u16() // functional mode
	d.Operations = r.arr16()
	d.Events = r.arr16()
	r.arr16() // device properties
	d.CaptureFormats = r.arr16()
	d.ImageFormats = r.arr16()
	d.Manufacturer = r.str()
	d.Model = r.str()
	d.DeviceVersion = r.str()
	d.SerialNumber = r.str()
	if r.err != nil {
		return DeviceInfo{}, r.err
	}
	return d, nil
}

// ParseObjectInfo decodes a GetObjectInfo data set. Errors wrap
// lane.ErrInvalid.
func ParseObjectInfo(b []byte) (ObjectInfo, error) {
	r := &reader{b: b, set: "ObjectInfo"}
	var o ObjectInfo
	o.StorageID = r.u32()
	o.Format = r.u16()
	o.ProtectionStatus = r.u16()
	o.CompressedSize = r.u32()
	o.ThumbFormat = r.u16()
	o.ThumbSize = r.u32()
	o.ThumbWidth = r.u32()
	o.ThumbHeight = r.u32()
	o.ImageWidth = r.u32()
	o.ImageHeight = r.u32()
	o.ImageBitDepth = r.u32()
	o.ParentObject = r.u32()
	o.AssociationType = r.u16()
	o.AssociationDesc = r.u32()
	o.SequenceNumber = r.u32()
	o.Filename = r.str()
	o.CaptureDate = r.str()
	o.ModificationDate = r.str()
	o.Keywords = r.str()
	if r.err != nil {
		return ObjectInfo{}, r.err
	}
	return o, nil
}

// ParseUint32Array decodes a data set that is one array of u32 (storage
// IDs, object handles). Errors wrap lane.ErrInvalid.
func ParseUint32Array(b []byte) ([]uint32, error) {
	r := &reader{b: b, set: "array"}
	a := r.arr32()
	if r.err != nil {
		return nil, r.err
	}
	return a, nil
}

// writer encodes data sets (the scripted camera in tests, and Append*).
type writer struct{ b []byte }

func (w *writer) u16(v uint16) { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }

func (w *writer) str(s string) {
	if s == "" {
		w.b = append(w.b, 0)
		return
	}
	u := utf16.Encode([]rune(s))
	if len(u) > 254 {
		u = u[:254]
	}
	w.b = append(w.b, byte(len(u)+1))
	for _, c := range u {
		w.u16(c)
	}
	w.u16(0)
}

func (w *writer) arr16(a []uint16) {
	w.u32(uint32(len(a)))
	for _, v := range a {
		w.u16(v)
	}
}

// EncodeDeviceInfo returns the data set for d (the inverse of
// ParseDeviceInfo, with zero vendor version, functional mode and property
// list).
func EncodeDeviceInfo(d DeviceInfo) []byte {
	w := &writer{}
	w.u16(d.StandardVersion)
	w.u32(d.VendorExtensionID)
	w.u16(0)
	w.str(d.VendorExtensionDesc)
	w.u16(0)
	w.arr16(d.Operations)
	w.arr16(d.Events)
	w.arr16(nil)
	w.arr16(d.CaptureFormats)
	w.arr16(d.ImageFormats)
	w.str(d.Manufacturer)
	w.str(d.Model)
	w.str(d.DeviceVersion)
	w.str(d.SerialNumber)
	return w.b
}

// EncodeObjectInfo returns the data set for o.
func EncodeObjectInfo(o ObjectInfo) []byte {
	w := &writer{}
	w.u32(o.StorageID)
	w.u16(o.Format)
	w.u16(o.ProtectionStatus)
	w.u32(o.CompressedSize)
	w.u16(o.ThumbFormat)
	w.u32(o.ThumbSize)
	w.u32(o.ThumbWidth)
	w.u32(o.ThumbHeight)
	w.u32(o.ImageWidth)
	w.u32(o.ImageHeight)
	w.u32(o.ImageBitDepth)
	w.u32(o.ParentObject)
	w.u16(o.AssociationType)
	w.u32(o.AssociationDesc)
	w.u32(o.SequenceNumber)
	w.str(o.Filename)
	w.str(o.CaptureDate)
	w.str(o.ModificationDate)
	w.str(o.Keywords)
	return w.b
}

// EncodeUint32Array returns the data set for an array of u32.
func EncodeUint32Array(a []uint32) []byte {
	w := &writer{}
	w.u32(uint32(len(a)))
	for _, v := range a {
		w.u32(v)
	}
	return w.b
}

// ParseDateTime parses a PTP date-time string ("YYYYMMDDThhmmss" with
// optional ".s" tenths and an optional "Z" or "±hhmm" zone); a time
// without a zone is in loc. ok is false for an empty or malformed string.
func ParseDateTime(s string, loc *time.Location) (time.Time, bool) {
	if len(s) < 15 {
		return time.Time{}, false
	}
	base, rest := s[:15], s[15:]
	var frac time.Duration
	if len(rest) >= 2 && rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9' {
		frac = time.Duration(rest[1]-'0') * 100 * time.Millisecond
		rest = rest[2:]
	}
	switch {
	case rest == "":
	case rest == "Z":
		loc = time.UTC
	case len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
		z, err := time.Parse("-0700", rest)
		if err != nil {
			return time.Time{}, false
		}
		loc = z.Location()
	default:
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.Local
	}
	t, err := time.ParseInLocation("20060102T150405", base, loc)
	if err != nil {
		return time.Time{}, false
	}
	return t.Add(frac), true
}
