package ptp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/ptp"
	"github.com/examlane/examlane/devices/ptp/ptptest"
	"github.com/examlane/examlane/lane"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContainerBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    ptp.Container
		hex  string
	}{
		{"OpenSession", ptp.Container{Type: ptp.TypeCommand, Code: ptp.OpOpenSession, TransactionID: 0, Params: []uint32{1}},
			"10000000 0100 0210 00000000 01000000"},
		{"GetObjectHandles", ptp.Container{Type: ptp.TypeCommand, Code: ptp.OpGetObjectHandles, TransactionID: 7, Params: []uint32{0xFFFFFFFF, 0, 0}},
			"18000000 0100 0710 07000000 ffffffff 00000000 00000000"},
		{"OK", ptp.Container{Type: ptp.TypeResponse, Code: ptp.RespOK, TransactionID: 7},
			"0c000000 0300 0120 07000000"},
		{"data", ptp.Container{Type: ptp.TypeData, Code: ptp.OpGetObject, TransactionID: 9, Payload: []byte{0xff, 0xd8, 0xff}},
			"0f000000 0200 0910 09000000 ffd8ff"},
		{"ObjectAdded", ptp.Container{Type: ptp.TypeEvent, Code: ptp.EventObjectAdded, TransactionID: 0xFFFFFFFF, Params: []uint32{0x1001}},
			"10000000 0400 0240 ffffffff 01100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			if got := tc.c.Encode(); !bytes.Equal(got, want) {
				t.Fatalf("encode\n got %x\nwant %x", got, want)
			}
			back, err := ptp.DecodeContainer(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Encode(), want) {
				t.Fatalf("round trip %+v", back)
			}
		})
	}
}

func TestDecodeContainerRejects(t *testing.T) {
	for name, h := range map[string]string{
		"short":          "0c0000 0003",
		"length < 12":    "08000000 0300 0120 00000000",
		"length too big": "20000000 0300 0120 00000000",
		"length small":   "0c000000 0300 0120 00000000 01000000",
		"type 0":         "0c000000 0000 0120 00000000",
		"type 5":         "0c000000 0500 0120 00000000",
		"half param":     "0e000000 0300 0120 00000000 0100",
		"six params":     "24000000 0100 0710 07000000" + strings.Repeat("00000000", 6),
	} {
		if _, err := ptp.DecodeContainer(unhex(t, h)); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestDataSets(t *testing.T) {
	d := ptp.DeviceInfo{StandardVersion: 100, VendorExtensionID: 6, VendorExtensionDesc: "microsoft.com: 1.0",
		Operations: []uint16{ptp.OpGetDeviceInfo, ptp.OpGetObject}, Events: []uint16{ptp.EventObjectAdded},
		CaptureFormats: []uint16{ptp.FormatEXIFJPEG}, ImageFormats: []uint16{ptp.FormatEXIFJPEG, ptp.FormatTIFF},
		Manufacturer: "Synthetic Optics", Model: "Fundus Ω-1", DeviceVersion: "1.2", SerialNumber: "SN0001"}
	got, err := ptp.ParseDeviceInfo(ptp.EncodeDeviceInfo(d))
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != d.Model || got.SerialNumber != d.SerialNumber || !got.Supports(ptp.OpGetObject) || got.Supports(ptp.OpOpenSession) || len(got.ImageFormats) != 2 {
		t.Fatalf("device info %+v", got)
	}
	o := ptp.ObjectInfo{StorageID: 0x10001, Format: ptp.FormatEXIFJPEG, CompressedSize: 1234, ImageWidth: 4000, ImageHeight: 3000,
		ParentObject: 7, SequenceNumber: 3, Filename: "IMG_0001.JPG", CaptureDate: "20240305T101500.5+0100"}
	go2, err := ptp.ParseObjectInfo(ptp.EncodeObjectInfo(o))
	if err != nil || go2 != o {
		t.Fatalf("object info %+v, %v", go2, err)
	}
	// A PTP string is a count of UCS-2 units including the NUL.
	if b := ptp.EncodeObjectInfo(ptp.ObjectInfo{Filename: "A"}); !bytes.Contains(b, []byte{2, 'A', 0, 0, 0}) {
		t.Errorf("string encoding %x", b)
	}
	for name, b := range map[string][]byte{
		"empty":         nil,
		"truncated":     ptp.EncodeObjectInfo(o)[:40],
		"string past":   append(ptp.EncodeObjectInfo(o)[:52], 200, 'a', 0),
		"array too big": unhex(t, "ffffffff 0100"),
	} {
		if _, err := ptp.ParseObjectInfo(b); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("object info %s: %v", name, err)
		}
		if name == "array too big" {
			if _, err := ptp.ParseUint32Array(b); !errors.Is(err, lane.ErrInvalid) {
				t.Errorf("array: %v", err)
			}
		}
	}
}

func TestParseDateTime(t *testing.T) {
	loc := time.FixedZone("lane", 2*3600)
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"20240305T101500", time.Date(2024, 3, 5, 10, 15, 0, 0, loc), true},
		{"20240305T101500.3", time.Date(2024, 3, 5, 10, 15, 0, 300e6, loc), true},
		{"20240305T101500Z", time.Date(2024, 3, 5, 10, 15, 0, 0, time.UTC), true},
		{"20240305T101500-0500", time.Date(2024, 3, 5, 15, 15, 0, 0, time.UTC), true},
		{"", time.Time{}, false},
		{"2024-03-05 10:15", time.Time{}, false},
		{"20241305T101500", time.Time{}, false},
		{"20240305T101500+5", time.Time{}, false},
	} {
		got, ok := ptp.ParseDateTime(tc.in, loc)
		if ok != tc.ok || (ok && !got.Equal(tc.want)) {
			t.Errorf("%q: %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFindPTPInterface(t *testing.T) {
	bulkIn := ptp.EndpointInfo{Address: 0x81, Bulk: true, MaxPacket: 512}
	bulkOut := ptp.EndpointInfo{Address: 0x02, Bulk: true, MaxPacket: 512}
	intr := ptp.EndpointInfo{Address: 0x83, Interrupt: true, MaxPacket: 8}
	storage := ptp.InterfaceInfo{Config: 1, Number: 0, Class: 8, SubClass: 6, Protocol: 0x50, Endpoints: []ptp.EndpointInfo{bulkIn, bulkOut}}
	still := ptp.InterfaceInfo{Config: 1, Number: 1, Class: 6, SubClass: 1, Protocol: 1, Endpoints: []ptp.EndpointInfo{bulkIn, bulkOut, intr}}
	loose := ptp.InterfaceInfo{Config: 1, Number: 2, Class: 6, Endpoints: []ptp.EndpointInfo{bulkOut, bulkIn}}
	noBulk := ptp.InterfaceInfo{Config: 1, Number: 3, Class: 6, SubClass: 1, Protocol: 1, Endpoints: []ptp.EndpointInfo{intr}}

	p, err := ptp.FindPTPInterface([]ptp.InterfaceInfo{storage, loose, still})
	if err != nil || p.Number != 1 || !p.HasInterrupt || p.BulkIn.Number() != 1 || p.BulkOut.Number() != 2 || p.Interrupt.Number() != 3 {
		t.Fatalf("picked %+v, %v", p, err)
	}
	p, err = ptp.FindPTPInterface([]ptp.InterfaceInfo{storage, loose})
	if err != nil || p.Number != 2 || p.HasInterrupt {
		t.Fatalf("loose class-6 interface: %+v, %v", p, err)
	}
	if _, err := ptp.FindPTPInterface([]ptp.InterfaceInfo{storage, noBulk}); !errors.Is(err, ptp.ErrNotCamera) {
		t.Fatalf("no camera: %v", err)
	}
}

func TestSessionWithScriptedCamera(t *testing.T) {
	cam := ptptest.New()
	small := ptptest.JPEG(64, 48, 1)
	h1 := cam.Add("IMG_0001.JPG", ptp.FormatEXIFJPEG, small, "")
	// A 40-packet object: its data container is 12 bytes more than 40
	// packets; the one after is an exact multiple of the packet size, so
	// the camera sends a zero-length packet after it.
	big := bytes.Repeat([]byte{0xA5}, 40*ptptest.Packet)
	h2 := cam.Add("IMG_0002.JPG", ptp.FormatEXIFJPEG, big, "")
	exact := bytes.Repeat([]byte{0x5A}, 8*ptptest.Packet-ptp.HeaderSize)
	h3 := cam.Add("IMG_0003.JPG", ptp.FormatEXIFJPEG, exact, "")
	ctx := t.Context()
	s := ptp.NewSession(cam, 0)

	info, err := s.DeviceInfo(ctx)
	if err != nil || info.Model != "FC-1 Fundus" {
		t.Fatalf("device info %+v, %v", info, err)
	}
	if _, err := s.StorageIDs(ctx); !errors.Is(err, lane.ErrInvalid) && err == nil {
		t.Fatal("StorageIDs before OpenSession succeeded")
	}
	if err := s.Open(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ids, err := s.StorageIDs(ctx)
	if err != nil || len(ids) != 1 || ids[0] != 0x00010001 {
		t.Fatalf("storages %x, %v", ids, err)
	}
	hs, err := s.ObjectHandles(ctx, ptp.AllStorages)
	if err != nil || len(hs) != 3 || hs[0] != h1 {
		t.Fatalf("handles %x, %v", hs, err)
	}
	oi, err := s.ObjectInfo(ctx, h1)
	if err != nil || oi.Filename != "IMG_0001.JPG" || oi.CompressedSize != uint32(len(small)) || !oi.IsImage() {
		t.Fatalf("object info %+v, %v", oi, err)
	}
	for h, want := range map[uint32][]byte{h1: small, h2: big, h3: exact} {
		got, err := s.Object(ctx, h)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("object %x: %d bytes, %v; want %d", h, len(got), err, len(want))
		}
	}
	_, err = s.ObjectInfo(ctx, 0xdead)
	var re *ptp.ResponseError
	if !errors.As(err, &re) || re.Code != ptp.RespInvalidObjectHandle || !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("missing object: %v", err)
	}
	cam.FailNext(ptp.OpGetObject, ptp.RespDeviceBusy)
	if _, err := s.Object(ctx, h1); !errors.Is(err, lane.ErrUnavailable) {
		t.Fatalf("busy camera: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The commands on the wire, byte for byte: OpenSession with
	// transaction 0, then 1, 2, 3… (GetDeviceInfo came before the session).
	sent := cam.Commands()
	want := []string{
		"0c000000 0100 0110 00000000",
		"0c000000 0100 0410 00000000",
		"10000000 0100 0210 00000000 01000000",
		"0c000000 0100 0410 01000000",
		"18000000 0100 0710 02000000 ffffffff 00000000 00000000",
		"10000000 0100 0810 03000000 01100000",
	}
	for i, w := range want {
		if !bytes.Equal(sent[i], unhex(t, w)) {
			t.Errorf("command %d: %x, want %s", i, sent[i], w)
		}
	}
	if last := sent[len(sent)-1]; !bytes.Equal(last[4:8], []byte{1, 0, 3, 0x10}) {
		t.Errorf("last command %x, want CloseSession", last)
	}
	if f := cam.Faults(); len(f) > 0 {
		t.Errorf("the camera saw protocol errors: %q", f)
	}
}

func TestSessionRejectsBadDevices(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(op uint16, tr [][]byte) [][]byte
		limit  int64
	}{
		{"wrong transaction id", func(op uint16, tr [][]byte) [][]byte {
			b := append([]byte(nil), tr[0]...)
			b[8]++
			return append([][]byte{b}, tr[1:]...)
		}, 0},
		{"data over the limit", nil, 100},
		{"data phase cut short", func(op uint16, tr [][]byte) [][]byte {
			if op != ptp.OpGetObject {
				return tr
			}
			return [][]byte{tr[0], nil}
		}, 0},
		{"response too long", func(op uint16, tr [][]byte) [][]byte {
			last := tr[len(tr)-1]
			big := ptp.Container{Type: ptp.TypeResponse, Code: ptp.RespOK, TransactionID: leTID(last)}.Encode()
			big = append(big, make([]byte, 40)...)
			big[0] = byte(len(big))
			return append(tr[:len(tr)-1], big)
		}, 0},
		{"garbage", func(op uint16, tr [][]byte) [][]byte { return [][]byte{[]byte("hello, world!")} }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cam := ptptest.New()
			h := cam.Add("a.jpg", ptp.FormatEXIFJPEG, bytes.Repeat([]byte{1}, 20*ptptest.Packet), "")
			s := ptp.NewSession(cam, tc.limit)
			if err := s.Open(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			cam.Tamper(tc.tamper)
			_, err := s.Object(t.Context(), h)
			if !errors.Is(err, lane.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func leTID(b []byte) uint32 {
	return uint32(b[8]) | uint32(b[9])<<8 | uint32(b[10])<<16 | uint32(b[11])<<24
}

// collector records what a watcher hands over.
type collector struct {
	mu   sync.Mutex
	objs []ptp.Object
	fail int // fail this many times first
	got  chan ptp.Object
}

func (c *collector) handle(_ context.Context, o ptp.Object) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return errors.New("no active chart")
	}
	c.objs = append(c.objs, o)
	c.got <- o
	return nil
}

// runWatcher runs a watcher on cam and returns once the camera is ready.
func runWatcher(t *testing.T, cam *ptptest.Camera, cfg ptp.WatchConfig, failFirst int) (*collector, context.CancelFunc, chan error) {
	t.Helper()
	col := &collector{got: make(chan ptp.Object, 16), fail: failFirst}
	ready := make(chan struct{}, 1)
	cfg.OnState = func(up bool, _ ptp.DeviceInfo) {
		if up {
			select {
			case ready <- struct{}{}:
			default:
			}
		}
	}
	cfg.Open = func(context.Context) (ptp.Transport, error) { return cam, nil }
	cfg.Handle = col.handle
	cfg.Logf = t.Logf
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Millisecond
	}
	w, err := ptp.NewWatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("camera never ready")
	}
	return col, cancel, done
}

func wait(t *testing.T, ch chan ptp.Object) ptp.Object {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("no image imported")
	}
	return ptp.Object{}
}

func TestWatcherImportsNewCapturesOnly(t *testing.T) {
	for _, events := range []bool{true, false} {
		t.Run(map[bool]string{true: "events", false: "polling"}[events], func(t *testing.T) {
			cam := ptptest.New()
			cam.NoEvents = !events
			cam.Add("OLD_0001.JPG", ptp.FormatEXIFJPEG, ptptest.JPEG(32, 24, 9), "") // an earlier patient's picture
			cam.Add("DCIM", ptp.FormatAssociation, nil, "")
			col, cancel, done := runWatcher(t, cam, ptp.WatchConfig{Poll: map[bool]time.Duration{true: time.Hour, false: 5 * time.Millisecond}[events]}, 0)
			img := ptptest.JPEG(64, 48, 1)
			h := cam.Capture("IMG_0002.JPG", img)
			o := wait(t, col.got)
			if o.Handle != h || !bytes.Equal(o.Data, img) || o.SHA256 != sha256.Sum256(img) || o.Device.Model != "FC-1 Fundus" || o.Info.Filename != "IMG_0002.JPG" {
				t.Fatalf("imported %x %q (%d bytes)", o.Handle, o.Info.Filename, len(o.Data))
			}
			// The same picture again under a new handle is not imported
			// twice; a new one is.
			cam.Capture("IMG_0003.JPG", img)
			img2 := ptptest.JPEG(64, 48, 2)
			h2 := cam.Capture("IMG_0004.JPG", img2)
			if o := wait(t, col.got); o.Handle != h2 {
				t.Fatalf("second import %x, want %x", o.Handle, h2)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			col.mu.Lock()
			defer col.mu.Unlock()
			if len(col.objs) != 2 {
				t.Fatalf("imported %d images, want 2", len(col.objs))
			}
		})
	}
}

func TestWatcherImportExistingAndRetry(t *testing.T) {
	cam := ptptest.New()
	cam.NoEvents = true
	img := ptptest.JPEG(32, 24, 4)
	h := cam.Add("IMG_0001.JPG", ptp.FormatEXIFJPEG, img, "")
	seen := &mapSeen{m: map[[32]byte]bool{}}
	// The first two offers fail (e.g. no chart open yet): the image is
	// offered again on later scans.
	col, cancel, done := runWatcher(t, cam, ptp.WatchConfig{ImportExisting: true, Seen: seen}, 2)
	if o := wait(t, col.got); o.Handle != h {
		t.Fatalf("imported %x", o.Handle)
	}
	cancel()
	<-done
	if col.fail != 0 {
		t.Errorf("%d failures left", col.fail)
	}
	if ok, _ := seen.Seen(sha256.Sum256(img)); !ok {
		t.Error("imported content not remembered")
	}
}

func TestWatcherReconnects(t *testing.T) {
	cam := ptptest.New()
	opens := 0
	var mu sync.Mutex
	col := &collector{got: make(chan ptp.Object, 4)}
	w, err := ptp.NewWatcher(ptp.WatchConfig{
		Open: func(context.Context) (ptp.Transport, error) {
			mu.Lock()
			defer mu.Unlock()
			opens++
			if opens == 1 {
				return nil, lane.ErrUnavailable // not plugged in yet
			}
			cam.Reset()
			return cam, nil
		},
		Handle: col.handle, Retry: time.Millisecond, Poll: 5 * time.Millisecond, ImportExisting: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cam.NoEvents = true
	cam.Add("IMG_0001.JPG", ptp.FormatEXIFJPEG, ptptest.JPEG(16, 16, 1), "")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	wait(t, col.got)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// mapSeen is an in-memory ptp.Seen.
type mapSeen struct {
	mu sync.Mutex
	m  map[[32]byte]bool
}

func (s *mapSeen) Seen(sum [32]byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[sum], nil
}

func (s *mapSeen) Mark(sum [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[sum] = true
	return nil
}
