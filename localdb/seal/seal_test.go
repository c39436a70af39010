package seal_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb/seal"
)

func ring(t testing.TB) *seal.Keyring {
	t.Helper()
	r := seal.NewKeyring()
	if err := r.Add(1, seal.NewKey()); err != nil {
		t.Fatal(err)
	}
	return r
}

var place = seal.AAD{Tenant: "practice-a", Table: "patients", Row: "p1", Column: "sealed", Version: 3}

func TestSealRoundTripAndLayout(t *testing.T) {
	r := ring(t)
	pt := []byte(`{"family":"Synthetic"}`)
	s, err := r.Seal(place, pt)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != len(pt)+seal.Overhead {
		t.Errorf("len = %d, want %d", len(s), len(pt)+seal.Overhead)
	}
	if s[0] != seal.FormatV1 {
		t.Errorf("format byte = %#x", s[0])
	}
	if id, _ := seal.KeyID(s); id != 1 {
		t.Errorf("KeyID = %d, want 1", id)
	}
	if bytes.Contains(s, pt) {
		t.Error("plaintext visible in sealed value")
	}
	got, err := r.Open(place, s)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	s2, _ := r.Seal(place, pt)
	if bytes.Equal(s, s2) {
		t.Error("two seals of the same value are equal (nonce reuse?)")
	}
}

// TestOpenRefusesMovedValues is the AAD-binding negative test: a value
// copied to another tenant, table, row, column or version must not open.
func TestOpenRefusesMovedValues(t *testing.T) {
	r := ring(t)
	s, err := r.Seal(place, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	moved := map[string]seal.AAD{}
	for name, f := range map[string]func(*seal.AAD){
		"tenant":  func(a *seal.AAD) { a.Tenant = "practice-b" },
		"table":   func(a *seal.AAD) { a.Table = "encounters" },
		"row":     func(a *seal.AAD) { a.Row = "p2" },
		"column":  func(a *seal.AAD) { a.Column = "name" },
		"version": func(a *seal.AAD) { a.Version = 4 },
		// Field boundaries are length-prefixed: shifting a byte between
		// adjacent fields must not give the same AAD.
		"boundary": func(a *seal.AAD) { a.Table, a.Row = "patientsp", "1" },
	} {
		a := place
		f(&a)
		moved[name] = a
	}
	for name, a := range moved {
		t.Run(name, func(t *testing.T) {
			_, err := r.Open(a, s)
			var se *seal.Error
			if !errors.Is(err, lane.ErrUnauthenticated) || !errors.As(err, &se) {
				t.Fatalf("Open(moved) err = %v, want *seal.Error wrapping ErrUnauthenticated", err)
			}
		})
	}
}

func TestOpenRefusesEveryFlippedByteAndTruncation(t *testing.T) {
	r := ring(t)
	s, _ := r.Seal(place, []byte("measurement 1.25"))
	for i := range s {
		for _, bit := range []byte{0x01, 0x80} {
			c := bytes.Clone(s)
			c[i] ^= bit
			if pt, err := r.Open(place, c); !errors.Is(err, lane.ErrUnauthenticated) || pt != nil {
				t.Fatalf("flip byte %d bit %#x: pt=%q err=%v", i, bit, pt, err)
			}
		}
	}
	for n := 0; n < len(s); n++ {
		if _, err := r.Open(place, s[:n]); !errors.Is(err, lane.ErrUnauthenticated) {
			t.Fatalf("truncated to %d: err = %v", n, err)
		}
	}
}

func TestWrongKeyAndUnknownKey(t *testing.T) {
	a, b := ring(t), ring(t)
	s, _ := a.Seal(place, []byte("x"))
	if _, err := b.Open(place, s); !errors.Is(err, lane.ErrUnauthenticated) {
		t.Errorf("other key: err = %v", err)
	}
	c := seal.NewKeyring()
	_ = c.Add(7, seal.NewKey())
	if _, err := c.Open(place, s); !errors.Is(err, lane.ErrUnauthenticated) {
		t.Errorf("unknown key id: err = %v", err)
	}
}

func TestSealWithOlderKeyAfterRotation(t *testing.T) {
	r := ring(t)
	old, _ := r.Seal(place, []byte("old"))
	if err := r.Add(2, seal.NewKey()); err != nil {
		t.Fatal(err)
	}
	if err := r.SetCurrent(2); err != nil {
		t.Fatal(err)
	}
	nw, _ := r.Seal(place, []byte("new"))
	if id, _ := seal.KeyID(nw); id != 2 {
		t.Errorf("new seal key id = %d", id)
	}
	for _, s := range [][]byte{old, nw} {
		if _, err := r.Open(place, s); err != nil {
			t.Errorf("Open after rotation: %v", err)
		}
	}
	if err := r.SetCurrent(9); err == nil {
		t.Error("SetCurrent(unknown) succeeded")
	}
}

// TestRandomSwaps is the property test of security.md R6: a value swapped
// into any other random place never opens.
func TestRandomSwaps(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 5000
	}
	r := ring(t)
	rng := rand.New(rand.NewPCG(1, 2))
	tables := []string{"patients", "encounters", "measurements"}
	cols := []string{"sealed", "name"}
	pick := func() seal.AAD {
		return seal.AAD{Tenant: []string{"a", "b"}[rng.IntN(2)], Table: tables[rng.IntN(3)],
			Row: string(rune('a' + rng.IntN(20))), Column: cols[rng.IntN(2)], Version: int64(rng.IntN(3))}
	}
	for i := 0; i < n; i++ {
		from, to := pick(), pick()
		if from == to {
			continue
		}
		s, _ := r.Seal(from, []byte{byte(i)})
		if _, err := r.Open(to, s); err == nil {
			t.Fatalf("value sealed for %v opened at %v", from, to)
		}
	}
}

func TestBlindIndex(t *testing.T) {
	r := ring(t)
	a := r.BlindIndex(1, "mrn", "  MRN-0042 ")
	b := r.BlindIndex(1, "mrn", "mrn-0042")
	if !bytes.Equal(a, b) || len(a) != seal.BlindIndexSize {
		t.Errorf("normalised values index differently: %x %x", a, b)
	}
	if bytes.Equal(a, r.BlindIndex(1, "family-dob", "mrn-0042")) {
		t.Error("same value in two fields gives the same index")
	}
	if bytes.Equal(a, ring(t).BlindIndex(1, "mrn", "mrn-0042")) {
		t.Error("two keys give the same index")
	}
	if r.BlindIndex(1, "mrn", "  ") != nil {
		t.Error("blank value indexed")
	}
	if got := seal.Normalize("  O'Brien\t\tSMITH \n"); got != "o'brien smith" {
		t.Errorf("Normalize = %q", got)
	}
}

func TestWrapUnwrap(t *testing.T) {
	kek, dek := seal.NewKey(), seal.NewKey()
	ctx := []byte("db-1/key-1")
	w, err := seal.Wrap(kek, dek, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != seal.WrappedSize {
		t.Errorf("wrapped size %d", len(w))
	}
	got, err := seal.Unwrap(kek, w, ctx)
	if err != nil || got != dek {
		t.Fatalf("Unwrap: %v", err)
	}
	if _, err := seal.Unwrap(seal.NewKey(), w, ctx); !errors.Is(err, lane.ErrUnauthenticated) {
		t.Errorf("wrong kek: %v", err)
	}
	if _, err := seal.Unwrap(kek, w, []byte("db-2/key-1")); !errors.Is(err, lane.ErrUnauthenticated) {
		t.Errorf("other context: %v", err)
	}
	chk := seal.CheckValue(kek, ctx)
	if err := seal.VerifyCheckValue(kek, ctx, chk); err != nil {
		t.Errorf("check value: %v", err)
	}
	err = seal.VerifyCheckValue(seal.NewKey(), ctx, chk)
	if !errors.Is(err, seal.ErrWrongKey) || !errors.Is(err, lane.ErrUnauthenticated) {
		t.Errorf("wrong check: %v", err)
	}
}

func TestRecoveryWrap(t *testing.T) {
	priv, err := seal.GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	dek := seal.NewKey()
	ctx := []byte("db-1/key-1")
	w, err := seal.WrapToRecovery(priv.PublicKey(), dek, ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := seal.UnwrapWithRecovery(priv, w, ctx)
	if err != nil || got != dek {
		t.Fatalf("UnwrapWithRecovery: %v", err)
	}
	other, _ := seal.GenerateRecoveryKey()
	if _, err := seal.UnwrapWithRecovery(other, w, ctx); !errors.Is(err, lane.ErrUnauthenticated) {
		t.Errorf("other recovery key: %v", err)
	}
	if _, err := seal.UnwrapWithRecovery(priv, w, []byte("db-1/key-2")); !errors.Is(err, lane.ErrUnauthenticated) {
		t.Errorf("other context: %v", err)
	}
	// PEM round trip.
	p2, err := seal.ParseRecoveryPrivate(seal.MarshalRecoveryPrivate(priv))
	if err != nil || !p2.Equal(priv) {
		t.Fatalf("private PEM: %v", err)
	}
	pub, err := seal.ParseRecoveryPublic(seal.MarshalRecoveryPublic(priv.PublicKey()))
	if err != nil || !pub.Equal(priv.PublicKey()) {
		t.Fatalf("public PEM: %v", err)
	}
	if _, err := seal.ParseRecoveryPrivate(seal.MarshalRecoveryPublic(pub)); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("public parsed as private: %v", err)
	}
}

func TestKDF(t *testing.T) {
	p := seal.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, Salt: bytes.Repeat([]byte{1}, 16)}
	a, err := seal.DeriveKEK([]byte("correct horse"), p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := seal.DeriveKEK([]byte("correct horse"), p)
	c, _ := seal.DeriveKEK([]byte("correct horsf"), p)
	if a != b || a == c {
		t.Error("DeriveKEK not deterministic or not passphrase-sensitive")
	}
	for _, bad := range []seal.KDFParams{
		{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, Salt: []byte("short")},
		{Time: 0, MemoryKiB: 8 * 1024, Threads: 1, Salt: p.Salt},
		{Time: 1, MemoryKiB: 1 << 30, Threads: 1, Salt: p.Salt},
	} {
		if _, err := seal.DeriveKEK([]byte("x"), bad); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("DeriveKEK(%v) err = %v", bad, err)
		}
	}
	if _, err := seal.DeriveKEK(nil, p); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("empty passphrase accepted")
	}
	d := seal.DefaultKDF()
	if d.Time != 3 || d.MemoryKiB != 64*1024 || d.Threads != 2 || len(d.Salt) != 16 {
		t.Errorf("DefaultKDF = %+v", d)
	}
}

func TestPlainKeyring(t *testing.T) {
	r := seal.NewPlainKeyring()
	s, _ := r.Seal(place, []byte("bench"))
	if s[0] != seal.FormatPlain {
		t.Fatal("plain keyring sealed")
	}
	if got, err := r.Open(place, s); err != nil || string(got) != "bench" {
		t.Fatalf("plain open: %q %v", got, err)
	}
	// A real keyring never accepts the plain format.
	if _, err := ring(t).Open(place, s); !errors.Is(err, lane.ErrUnauthenticated) {
		t.Errorf("real keyring opened a plain value: %v", err)
	}
}

// BenchmarkArgon2Default measures the default passphrase KDF (t=3, m=64 MiB,
// p=2) on this machine.
// It also reports CPU time per derivation (user+system over both threads),
// which competing processes do not inflate.
func BenchmarkArgon2Default(b *testing.B) {
	p := seal.DefaultKDF()
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		if _, err := seal.DeriveKEK([]byte("benchmark passphrase"), p); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/op")
}

func BenchmarkSealOpen2KiB(b *testing.B) {
	r := ring(b)
	pt := bytes.Repeat([]byte("x"), 2048)
	b.SetBytes(2048)
	for b.Loop() {
		s, _ := r.Seal(place, pt)
		if _, err := r.Open(place, s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestArgon2Timing logs (never asserts) the default KDF cost for the report.
func TestArgon2Timing(t *testing.T) {
	if testing.Short() {
		t.Skip("timing log only")
	}
	start := time.Now()
	if _, err := seal.DeriveKEK([]byte("timing"), seal.DefaultKDF()); err != nil {
		t.Fatal(err)
	}
	t.Logf("argon2id %v took %v", seal.DefaultKDF(), time.Since(start))
}
