// Package xmltree reads an instrument's XML export into a small element tree
// with bounded cost: the input size, element depth and token count are
// capped, DTD entity declarations are refused (encoding/xml never expands
// external entities, and an internal ENTITY is never legitimate in device
// output), and the text encoding is taken from the byte-order mark or the
// XML declaration (UTF-8, UTF-16LE/BE, Shift-JIS, Latin-1/Windows-1252,
// US-ASCII) instead of being assumed.
package xmltree

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"

	"github.com/examlane/examlane/lane"
)

// Limits bounds what Parse accepts.
type Limits struct {
	MaxBytes  int // input size after transcoding to UTF-8
	MaxDepth  int // element nesting
	MaxTokens int // start elements + text runs + other tokens
}

// DefaultLimits fits every real export seen (the largest is ~25 KiB) with
// two orders of magnitude to spare.
var DefaultLimits = Limits{MaxBytes: 4 << 20, MaxDepth: 48, MaxTokens: 250_000}

// Node is one XML element.
type Node struct {
	Space, Local string // namespace URI (or undeclared prefix) and local name
	Attr         []xml.Attr
	Text         string // character data directly inside the element
	Children     []*Node

	buf []byte // Text while the element is open (appending to a string would be quadratic)
}

// Parse transcodes data to UTF-8 and returns its root element. Errors wrap
// lane.ErrInvalid.
func Parse(data []byte, lim Limits) (*Node, error) {
	if lim.MaxBytes > 0 && len(data) > 2*lim.MaxBytes {
		return nil, fmt.Errorf("xml: %d bytes exceed the %d-byte limit: %w", len(data), lim.MaxBytes, lane.ErrInvalid)
	}
	text, err := ToUTF8(data)
	if err != nil {
		return nil, err
	}
	if lim.MaxBytes > 0 && len(text) > lim.MaxBytes {
		return nil, fmt.Errorf("xml: %d bytes exceed the %d-byte limit: %w", len(text), lim.MaxBytes, lane.ErrInvalid)
	}
	d := xml.NewDecoder(bytes.NewReader(text))
	d.CharsetReader = charsetReader
	var (
		root   *Node
		stack  []*Node
		tokens int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xml: %s: %w", cleanErr(err), lane.ErrInvalid)
		}
		tokens++
		if lim.MaxTokens > 0 && tokens > lim.MaxTokens {
			return nil, fmt.Errorf("xml: more than %d tokens: %w", lim.MaxTokens, lane.ErrInvalid)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("xml: more than one root element: %w", lane.ErrInvalid)
			}
			if lim.MaxDepth > 0 && len(stack) >= lim.MaxDepth {
				return nil, fmt.Errorf("xml: elements nested deeper than %d: %w", lim.MaxDepth, lane.ErrInvalid)
			}
			n := &Node{Space: t.Name.Space, Local: t.Name.Local, Attr: t.Attr}
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("xml: unbalanced end element: %w", lane.ErrInvalid)
			}
			n := stack[len(stack)-1]
			n.Text, n.buf = string(n.buf), nil
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				n := stack[len(stack)-1]
				n.buf = append(n.buf, t...)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("xml: text outside the root element: %w", lane.ErrInvalid)
			}
		case xml.Directive:
			if bytes.Contains(bytes.ToUpper(t), []byte("<!ENTITY")) || bytes.Contains(bytes.ToUpper(t), []byte("ENTITY ")) {
				return nil, fmt.Errorf("xml: entity declarations are not accepted: %w", lane.ErrInvalid)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("xml: no root element: %w", lane.ErrInvalid)
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("xml: document ends inside an element: %w", lane.ErrInvalid)
	}
	return root, nil
}

// cleanErr keeps the decoder's message but not any document text it quotes.
func cleanErr(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error on line %d", se.Line)
	}
	s := err.Error()
	if i := strings.IndexByte(s, '"'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// ToUTF8 returns data as UTF-8: a UTF-8 byte-order mark is dropped and
// UTF-16 (with a byte-order mark, or recognisable from a leading '<') is
// transcoded. Other encodings are left for the XML declaration to name.
func ToUTF8(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:], nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return fromUTF16(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return fromUTF16(data[2:], true)
	case len(data) >= 2 && data[0] == '<' && data[1] == 0:
		return fromUTF16(data, false)
	case len(data) >= 2 && data[0] == 0 && data[1] == '<':
		return fromUTF16(data, true)
	}
	return data, nil
}

func fromUTF16(b []byte, bigEndian bool) ([]byte, error) {
	if len(b)%2 != 0 {
		b = b[:len(b)-1] // a torn last byte cannot be part of the document
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// charsetReader maps the encoding named in the XML declaration to a decoder.
// UTF-16 names get the input unchanged because ToUTF8 already transcoded it.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii", "utf-16", "utf-16le", "utf-16be", "utf16", "unicode", "ucs-2":
		return r, nil
	case "shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j", "cp932", "ms932":
		return japanese.ShiftJIS.NewDecoder().Reader(r), nil
	case "iso-8859-1", "iso8859-1", "latin1", "l1":
		return charmap.ISO8859_1.NewDecoder().Reader(r), nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252.NewDecoder().Reader(r), nil
	}
	return nil, fmt.Errorf("unsupported text encoding %q", label)
}

// Child returns the first child with the given namespace and local name.
// An empty space matches only elements without a namespace.
func (n *Node) Child(space, local string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Space == space && c.Local == local {
			return c
		}
	}
	return nil
}

// All returns every child with the given namespace and local name.
func (n *Node) All(space, local string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if c.Space == space && c.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// Value returns the element's text with surrounding blanks removed; "" for
// a nil node.
func (n *Node) Value() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.Text)
}

// ChildValue is n.Child(space, local).Value().
func (n *Node) ChildValue(space, local string) string { return n.Child(space, local).Value() }

// Attribute returns the value of the attribute with the given local name
// (any namespace), and whether it is present.
func (n *Node) Attribute(local string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.Attr {
		if a.Name.Local == local && a.Name.Space != "xmlns" {
			return a.Value, true
		}
	}
	return "", false
}
