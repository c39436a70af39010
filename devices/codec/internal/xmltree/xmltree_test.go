package xmltree

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/examlane/examlane/lane"
)

func utf16le(s string, bom bool) []byte {
	var out []byte
	if bom {
		out = append(out, 0xFF, 0xFE)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func TestParseNamespacesAndText(t *testing.T) {
	doc := `<?xml version="1.0"?><Root xmlns:a="urn:a" xmlns="urn:d"><a:X k = "1"> v </a:X><Y>w</Y><Z xmlns="">z</Z></Root>`
	root, err := Parse([]byte(doc), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if root.Local != "Root" || root.Space != "urn:d" {
		t.Fatalf("root = %s %s", root.Space, root.Local)
	}
	x := root.Child("urn:a", "X")
	if x.Value() != "v" {
		t.Errorf("X = %q", x.Value())
	}
	if k, ok := x.Attribute("k"); !ok || k != "1" {
		t.Errorf("attribute k = %q %v", k, ok)
	}
	if root.ChildValue("urn:d", "Y") != "w" || root.ChildValue("", "Z") != "z" {
		t.Errorf("default namespace handling wrong")
	}
	if root.Child("urn:a", "Y") != nil {
		t.Errorf("matched by local name across namespaces")
	}
}

func TestParseEncodings(t *testing.T) {
	want := "NIDEK"
	docs := map[string][]byte{
		"utf-8 bom":      append([]byte{0xEF, 0xBB, 0xBF}, `<D><C>NIDEK</C></D>`...),
		"utf-16le bom":   utf16le(`<?xml version="1.0" encoding="UTF-16"?><D><C>NIDEK</C></D>`, true),
		"utf-16le nobom": utf16le(`<?xml version="1.0" encoding="UTF-16"?><D><C>NIDEK</C></D>`, false),
		"shift-jis":      append([]byte(`<?xml version="1.0" encoding="Shift_JIS"?><D><C>NIDEK</C><J>`), 0x83, 0x65, 0x83, 0x58, 0x83, 0x67, '<', '/', 'J', '>', '<', '/', 'D', '>'),
		"latin-1":        []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><D><C>NIDEK</C></D>`),
	}
	for name, doc := range docs {
		root, err := Parse(doc, DefaultLimits)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := root.ChildValue("", "C"); got != want {
			t.Errorf("%s: C = %q", name, got)
		}
		if name == "shift-jis" {
			if got := root.ChildValue("", "J"); got != "テスト" {
				t.Errorf("shift-jis text = %q", got)
			}
		}
	}
	if _, err := Parse([]byte(`<?xml version="1.0" encoding="EBCDIC-XYZ"?><D/>`), DefaultLimits); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("unknown encoding: %v", err)
	}
}

func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	if _, err := Parse([]byte(deep), DefaultLimits); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("deep nesting accepted: %v", err)
	}
	many := "<r>" + strings.Repeat("<a/>", 1000) + "</r>"
	if _, err := Parse([]byte(many), Limits{MaxTokens: 500}); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("token flood accepted: %v", err)
	}
	if _, err := Parse([]byte("<r>"+strings.Repeat("x", 2000)+"</r>"), Limits{MaxBytes: 1000}); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("oversize accepted: %v", err)
	}
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><r>&lol2;</r>`
	if _, err := Parse([]byte(bomb), DefaultLimits); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("entity declarations accepted: %v", err)
	}
	for _, bad := range []string{"", "<a>", "<a></b>", "<a/><b/>", "text<a/>", "<a>&undefined;</a>"} {
		if _, err := Parse([]byte(bad), DefaultLimits); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestParseManyTextRuns: text split by many comments inside one element
// is gathered in linear time.
func TestParseManyTextRuns(t *testing.T) {
	doc := "<r>" + strings.Repeat("ab<!--c-->", 100000) + "</r>"
	root, err := Parse([]byte(doc), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Text) != 200000 {
		t.Errorf("text length %d", len(root.Text))
	}
}
