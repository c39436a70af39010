package lane

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file parses and formats prescription notation as clinicians type
// and read it:
//
//	-2.25 -0.75 x 180      -2.25 -0.75 x180     -2.25/-0.75x180
//	pl -1.00 x 90          plano                +1.50 DS   +1.50 sph
//	-2.25 -0.75 x 180 add +2.00 0.5 BI         +1.00 ADD 2.00
//	2Δ BI   0.5 BI   2 BU   1.5 BO 1 BD   2^ BI   2 pd BI
//	R: -2.00 -0.50 x 180; L: -1.75 DS     (also OD/OS, either order)
//
// Words are case-insensitive; "×" may stand for x, "−" for a minus sign and
// "∆" for Δ. Powers accept up to three decimals (devices send 0.01 D) and
// need not be in 0.25 D steps. The parsed Refraction is in the convention as
// written; see CylinderConvention and ToMinusCylinder.

// Notation limits. The clinical add range is 0..+4.00 D; adds up to +5.00 D
// parse without complaint.
const (
	MaxSphere   Diopters      = 30 * Diopter
	MaxCylinder Diopters      = 15 * Diopter
	MaxAdd      Diopters      = 5 * Diopter
	MaxPrism    PrismDiopters = 30 * PrismDiopter
)

// maxNotationLen bounds the input a parser looks at.
const maxNotationLen = 256

// NotationError reports a prescription or acuity notation that cannot be
// read. It names the offending token as written and its 1-based column
// (in characters); Token is empty when the input ended too early. It wraps
// ErrInvalid, and ErrRange for values outside their limits.
type NotationError struct {
	Notation string // "rx", "prism" or "va"
	Token    string
	Pos      int
	Msg      string
	Err      error // optional cause, e.g. ErrRange
}

// Error formats the error as `rx notation: "181" at column 14: axis outside
// 0..180`.
func (e *NotationError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("%s notation: at end of input (column %d): %s", e.Notation, e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s notation: %q at column %d: %s", e.Notation, e.Token, e.Pos, e.Msg)
}

// Unwrap returns ErrInvalid and the cause, if any.
func (e *NotationError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

type tokKind uint8

const (
	tokNumber tokKind = iota + 1
	tokWord
	tokPrismMark // Δ, ∆ or ^
	tokSlash
	tokColon
	tokSep     // ';' or a newline
	tokCompare // '<' or '>' (acuity qualifiers)
)

type token struct {
	kind tokKind
	text string // as written
	pos  int    // 1-based column in characters
}

// lex splits s into tokens. It returns the column just past the input for
// errors at the end.
func lex(notation, s string) ([]token, int, error) {
	if len(s) > maxNotationLen {
		cut := maxNotationLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return nil, 0, &NotationError{Notation: notation, Token: "…", Pos: utf8.RuneCountInString(s[:cut]) + 1,
			Msg: fmt.Sprintf("input longer than %d bytes", maxNotationLen)}
	}
	var toks []token
	col := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		col++
		start, startCol := i, col
		switch {
		case r == ' ' || r == '\t' || r == '\r':
			i += size
		case r == ';' || r == '\n':
			toks = append(toks, token{tokSep, s[i : i+size], col})
			i += size
		case r == '/':
			toks = append(toks, token{tokSlash, "/", col})
			i += size
		case r == ':':
			toks = append(toks, token{tokColon, ":", col})
			i += size
		case r == 'Δ' || r == '∆' || r == '^':
			toks = append(toks, token{tokPrismMark, s[i : i+size], col})
			i += size
		case r == '<' || r == '>':
			toks = append(toks, token{tokCompare, s[i : i+size], col})
			i += size
		case r == '×':
			toks = append(toks, token{tokWord, "×", col})
			i += size
		case r == '+' || r == '-' || r == '−' || r == '.' || (r >= '0' && r <= '9'):
			i += size
			for i < len(s) && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')) {
				i++
				col++
			}
			toks = append(toks, token{tokNumber, s[start:i], startCol})
		case r < utf8.RuneSelf && isLetter(byte(r)):
			i += size
			for i < len(s) && isLetter(s[i]) {
				i++
				col++
			}
			toks = append(toks, token{tokWord, s[start:i], startCol})
		default:
			return nil, 0, &NotationError{Notation: notation, Token: string(r), Pos: col, Msg: "unexpected character"}
		}
	}
	return toks, col + 1, nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// isWord reports whether t is one of the words, case-insensitively.
func isWord(t *token, words ...string) bool {
	if t == nil || t.kind != tokWord {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) || (w == "x" && t.text == "×") {
			return true
		}
	}
	return false
}

// decimal is a parsed number token.
type decimal struct {
	milli    int64 // value in thousandths
	signed   bool  // an explicit sign was written
	negative bool
	frac     int // digits after the point
}

// parseDecimal reads a number token: optional sign, up to four integer
// digits, up to three decimals.
func parseDecimal(text string) (decimal, string) {
	var d decimal
	s := text
	switch {
	case strings.HasPrefix(s, "+"):
		d.signed, s = true, s[1:]
	case strings.HasPrefix(s, "-"):
		d.signed, d.negative, s = true, true, s[1:]
	case strings.HasPrefix(s, "−"):
		d.signed, d.negative, s = true, true, s[len("−"):]
	}
	intPart, fracPart, _ := strings.Cut(s, ".")
	if intPart == "" && fracPart == "" {
		return d, "not a number"
	}
	if strings.ContainsAny(fracPart, ".") {
		return d, "malformed number"
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > 4 {
		return d, "number too large"
	}
	if len(fracPart) > 3 {
		return d, "more than three decimals (resolution is 0.001)"
	}
	d.frac = len(fracPart)
	for _, c := range intPart {
		d.milli = d.milli*10 + int64(c-'0')
	}
	d.milli *= 1000
	scale := int64(100)
	for _, c := range fracPart {
		d.milli += int64(c-'0') * scale
		scale /= 10
	}
	if d.negative {
		d.milli = -d.milli
	}
	return d, ""
}

// rxParser parses a token slice holding one eye's prescription.
type rxParser struct {
	notation string
	toks     []token
	endPos   int    // column reported for errors at the end of toks
	endTok   string // the token that ended toks (";" or an eye label), if any
}

func (p *rxParser) at(k int) *token {
	if k >= 0 && k < len(p.toks) {
		return &p.toks[k]
	}
	return nil
}

func (p *rxParser) errAt(t *token, cause error, format string, args ...any) error {
	e := &NotationError{Notation: p.notation, Msg: fmt.Sprintf(format, args...), Err: cause}
	if t == nil {
		e.Token, e.Pos = p.endTok, p.endPos
	} else {
		e.Token, e.Pos = t.text, t.pos
	}
	return e
}

// number parses the number token t.
func (p *rxParser) number(t *token, what string) (decimal, error) {
	if t == nil || t.kind != tokNumber {
		return decimal{}, p.errAt(t, nil, "expected a number for the %s", what)
	}
	d, why := parseDecimal(t.text)
	if why != "" {
		return decimal{}, p.errAt(t, nil, "%s: %s", what, why)
	}
	return d, nil
}

// isPrismAt reports whether the tokens at k start a prism component: a
// number followed by a prism mark or a base.
func (p *rxParser) isPrismAt(k int) bool {
	t := p.at(k)
	if t == nil || t.kind != tokNumber {
		return false
	}
	n := p.at(k + 1)
	return n != nil && (n.kind == tokPrismMark || isWord(n, "pd") || baseOf(n) != 0)
}

// baseOf returns 1..4 for BI, BO, BU, BD and 0 otherwise.
func baseOf(t *token) int {
	switch {
	case isWord(t, "bi"):
		return 1
	case isWord(t, "bo"):
		return 2
	case isWord(t, "bu"):
		return 3
	case isWord(t, "bd"):
		return 4
	}
	return 0
}

// prismComponent parses "N [Δ|^|pd] BASE" at k into pr and returns the next
// index. seenH and seenV reject a second component in the same direction.
func (p *rxParser) prismComponent(k int, pr *Prism, seenH, seenV *bool) (int, error) {
	t := p.at(k)
	d, err := p.number(t, "prism")
	if err != nil {
		return 0, err
	}
	if d.negative {
		return 0, p.errAt(t, ErrRange, "prism amount cannot be negative (write the opposite base)")
	}
	if d.milli > int64(MaxPrism) {
		return 0, p.errAt(t, ErrRange, "prism outside 0..%sΔ", MaxPrism)
	}
	k++
	if m := p.at(k); m != nil && (m.kind == tokPrismMark || isWord(m, "pd")) {
		k++
	}
	b := p.at(k)
	amount := PrismDiopters(d.milli)
	switch baseOf(b) {
	case 1, 2:
		if *seenH {
			return 0, p.errAt(b, nil, "second horizontal prism")
		}
		*seenH = true
		if amount != 0 {
			pr.H, pr.HBase = amount, BaseIn
			if baseOf(b) == 2 {
				pr.HBase = BaseOut
			}
		}
	case 3, 4:
		if *seenV {
			return 0, p.errAt(b, nil, "second vertical prism")
		}
		*seenV = true
		if amount != 0 {
			pr.V, pr.VBase = amount, BaseUp
			if baseOf(b) == 4 {
				pr.VBase = BaseDown
			}
		}
	default:
		return 0, p.errAt(b, nil, "expected a prism base (BI, BO, BU or BD)")
	}
	return k + 1, nil
}

// parse reads one eye's prescription.
func (p *rxParser) parse() (Refraction, error) {
	var r Refraction
	t := p.at(0)
	switch {
	case t == nil:
		return r, p.errAt(nil, nil, "empty prescription: expected a sphere such as -2.25 or pl")
	case isWord(t, "pl", "plano"):
	case t.kind == tokNumber && !p.isPrismAt(0):
		d, err := p.number(t, "sphere")
		if err != nil {
			return r, err
		}
		if d.milli > int64(MaxSphere) || d.milli < -int64(MaxSphere) {
			return r, p.errAt(t, ErrRange, "sphere outside ±%s D", MaxSphere)
		}
		r.Sphere = Diopters(d.milli)
	default:
		return r, p.errAt(t, nil, "expected a sphere such as -2.25 or pl")
	}
	i := 1
	sphereOnly := false
	if isWord(p.at(i), "ds", "sph", "sphere") {
		sphereOnly = true
		i++
	}
	slash := p.at(i)
	if slash != nil && slash.kind == tokSlash {
		if sphereOnly {
			return r, p.errAt(slash, nil, "unexpected / after DS")
		}
		i++
	} else {
		slash = nil
	}
	if t := p.at(i); t != nil && t.kind == tokNumber && !p.isPrismAt(i) {
		if sphereOnly {
			return r, p.errAt(t, nil, "cylinder after DS")
		}
		if !isWord(p.at(i+1), "x") {
			// Name the culprit: an unknown word where the "x" belongs, or
			// the cylinder itself when nothing follows it.
			if n := p.at(i + 1); n != nil && n.kind != tokNumber && !isWord(n, "add") {
				return r, p.errAt(n, nil, "unknown token where the axis mark x belongs (write e.g. %s x 180)", t.text)
			}
			return r, p.errAt(t, nil, "cylinder without axis (write e.g. %s x 180)", t.text)
		}
		c, err := p.number(t, "cylinder")
		if err != nil {
			return r, err
		}
		if c.milli != 0 && !c.signed {
			return r, p.errAt(t, nil, "cylinder needs an explicit sign (+ or -)")
		}
		if c.milli > int64(MaxCylinder) || c.milli < -int64(MaxCylinder) {
			return r, p.errAt(t, ErrRange, "cylinder outside ±%s D", MaxCylinder)
		}
		at := p.at(i + 2)
		a, err := p.number(at, "axis")
		if err != nil {
			return r, err
		}
		if a.signed || a.frac > 0 || a.milli%1000 != 0 {
			return r, p.errAt(at, nil, "axis must be whole degrees without a sign")
		}
		ax, err := NewAxis(int(a.milli / 1000))
		if err != nil {
			return r, p.errAt(at, ErrRange, "axis outside 0..180")
		}
		if c.milli != 0 {
			r.Cylinder, r.Axis = Diopters(c.milli), ax
		}
		i += 3
	} else if slash != nil {
		return r, p.errAt(t, nil, "expected a cylinder after /")
	}
	var seenAdd, seenH, seenV bool
	for i < len(p.toks) {
		t := &p.toks[i]
		switch {
		case isWord(t, "x") && r.Cylinder != 0:
			return r, p.errAt(t, nil, "second axis")
		case isWord(t, "x"):
			return r, p.errAt(t, nil, "axis without cylinder")
		case isWord(t, "add"):
			if seenAdd {
				return r, p.errAt(t, nil, "second add")
			}
			seenAdd = true
			n := p.at(i + 1)
			d, err := p.number(n, "add")
			if err != nil {
				return r, err
			}
			if d.negative || d.milli > int64(MaxAdd) {
				return r, p.errAt(n, ErrRange, "add outside 0..+%s D", MaxAdd)
			}
			r.Add = Diopters(d.milli)
			i += 2
		case p.isPrismAt(i):
			next, err := p.prismComponent(i, &r.Prism, &seenH, &seenV)
			if err != nil {
				return r, err
			}
			i = next
		case t.kind == tokNumber && isWord(p.at(i+1), "x"):
			return r, p.errAt(t, nil, "cylinder must follow the sphere")
		case t.kind == tokNumber && p.at(i+1) != nil && p.at(i+1).kind != tokNumber && !isWord(p.at(i+1), "add"):
			return r, p.errAt(p.at(i+1), nil, "unknown prism base (write BI, BO, BU or BD)")
		case t.kind == tokNumber:
			return r, p.errAt(t, nil, "unexpected number (a prism needs a base: BI, BO, BU or BD)")
		default:
			return r, p.errAt(t, nil, "unknown token")
		}
	}
	return r, nil
}

// ParseRx parses one eye's prescription, e.g. "-2.25 -0.75 x 180 add +2.00
// 0.5 BI". The result is in the cylinder convention as written (its
// CylinderConvention reports which); an axis of 0 becomes 180, and a zero
// cylinder leaves a sphere with axis 0. Errors are *NotationError values
// naming the bad token and wrapping ErrInvalid.
func ParseRx(s string) (Refraction, error) {
	toks, end, err := lex("rx", s)
	if err != nil {
		return Refraction{}, err
	}
	for k := range toks {
		if toks[k].kind == tokSep || toks[k].kind == tokColon {
			return Refraction{}, &NotationError{Notation: "rx", Token: toks[k].text, Pos: toks[k].pos,
				Msg: "unexpected separator (use ParsePair for R: ...; L: ...)"}
		}
	}
	p := rxParser{notation: "rx", toks: toks, endPos: end}
	return p.parse()
}

// ParsePrism parses a prism on its own: "2Δ BI", "0.5 BI", "1.5 BO 1 BD".
func ParsePrism(s string) (Prism, error) {
	toks, end, err := lex("prism", s)
	if err != nil {
		return Prism{}, err
	}
	p := rxParser{notation: "prism", toks: toks, endPos: end}
	var pr Prism
	var seenH, seenV bool
	if len(toks) == 0 {
		return pr, p.errAt(nil, nil, "empty prism")
	}
	for i := 0; i < len(toks); {
		if !p.isPrismAt(i) {
			return pr, p.errAt(&toks[i], nil, "expected a prism such as 0.5 BI")
		}
		i, err = p.prismComponent(i, &pr, &seenH, &seenV)
		if err != nil {
			return pr, err
		}
	}
	return pr, nil
}

// RxPair is a prescription for both eyes.
type RxPair struct {
	Right, Left Refraction
}

// ToMinusCylinder returns both eyes in minus-cylinder form.
func (p RxPair) ToMinusCylinder() RxPair {
	return RxPair{Right: p.Right.ToMinusCylinder(), Left: p.Left.ToMinusCylinder()}
}

// ToPlusCylinder returns both eyes in plus-cylinder form.
func (p RxPair) ToPlusCylinder() RxPair {
	return RxPair{Right: p.Right.ToPlusCylinder(), Left: p.Left.ToPlusCylinder()}
}

// String formats the pair as "R: <rx>; L: <rx>".
func (p RxPair) String() string {
	return "R: " + FormatRx(p.Right) + "; L: " + FormatRx(p.Left)
}

func eyeLabel(t *token) Eye {
	switch {
	case isWord(t, "r", "od", "right"):
		return EyeRight
	case isWord(t, "l", "os", "left"):
		return EyeLeft
	}
	return EyeUnknown
}

// ParsePair parses a two-eye prescription: "R: <rx>; L: <rx>", with OD/OS
// (or right/left) for R/L, the eyes in either order, the colon optional and
// a semicolon or newline between the eyes. Both eyes are required.
func ParsePair(s string) (RxPair, error) {
	toks, end, err := lex("rx", s)
	if err != nil {
		return RxPair{}, err
	}
	var pair RxPair
	var seen [3]bool
	for i := 0; i < len(toks); {
		if toks[i].kind == tokSep {
			i++
			continue
		}
		label := &toks[i]
		eye := eyeLabel(label)
		if eye == EyeUnknown {
			return RxPair{}, &NotationError{Notation: "rx", Token: label.text, Pos: label.pos, Msg: "expected an eye: R:, L:, OD: or OS:"}
		}
		if seen[eye] {
			return RxPair{}, &NotationError{Notation: "rx", Token: label.text, Pos: label.pos, Msg: "eye given twice"}
		}
		seen[eye] = true
		i++
		if i < len(toks) && toks[i].kind == tokColon {
			i++
		}
		j := i
		for j < len(toks) && toks[j].kind != tokSep && eyeLabel(&toks[j]) == EyeUnknown {
			if toks[j].kind == tokColon {
				return RxPair{}, &NotationError{Notation: "rx", Token: ":", Pos: toks[j].pos, Msg: "unexpected colon"}
			}
			j++
		}
		p := rxParser{notation: "rx", toks: toks[i:j], endPos: end}
		if j < len(toks) {
			p.endPos, p.endTok = toks[j].pos, toks[j].text
		}
		r, err := p.parse()
		if err != nil {
			return RxPair{}, err
		}
		if eye == EyeRight {
			pair.Right = r
		} else {
			pair.Left = r
		}
		i = j
	}
	for _, e := range []Eye{EyeRight, EyeLeft} {
		if !seen[e] {
			name := map[Eye]string{EyeRight: "right eye (R: or OD:)", EyeLeft: "left eye (L: or OS:)"}[e]
			return RxPair{}, &NotationError{Notation: "rx", Pos: end, Msg: "missing " + name}
		}
	}
	return pair, nil
}

// FormatRx formats r the way clinicians read it: "-2.25 -0.75 x 180",
// "pl -1.00 x 090", "+1.50 DS", "pl", followed by " add +2.00" and prism
// components such as " 0.50Δ BI 1.00Δ BU". Powers carry two decimals, or
// three when needed (a device's +0.125); the axis is three digits. A prism
// component without a base direction is not printed (it is invalid; see
// Validate). The vertex distance is not part of the notation.
func FormatRx(r Refraction) string {
	var b strings.Builder
	switch {
	case r.Sphere == 0 && r.Cylinder == 0:
		b.WriteString("pl")
	case r.Cylinder == 0:
		b.WriteString(r.Sphere.String() + " DS")
	case r.Sphere == 0:
		b.WriteString("pl")
	default:
		b.WriteString(r.Sphere.String())
	}
	if r.Cylinder != 0 {
		fmt.Fprintf(&b, " %s x %s", r.Cylinder, r.Axis)
	}
	if r.Add != 0 {
		b.WriteString(" add " + r.Add.String())
	}
	if s := FormatPrism(r.Prism); s != "" {
		b.WriteString(" " + s)
	}
	return b.String()
}

// FormatPrism formats a prism as "0.50Δ BI", "1.50Δ BO 1.00Δ BD", or "" for
// no prism.
func FormatPrism(p Prism) string {
	var parts []string
	if p.H != 0 && p.HBase != BaseNoneH {
		base := "BI"
		if p.HBase == BaseOut {
			base = "BO"
		}
		parts = append(parts, p.H.String()+"Δ "+base)
	}
	if p.V != 0 && p.VBase != BaseNoneV {
		base := "BU"
		if p.VBase == BaseDown {
			base = "BD"
		}
		parts = append(parts, p.V.String()+"Δ "+base)
	}
	return strings.Join(parts, " ")
}

// Validate checks r against the notation limits: sphere within ±30 D,
// cylinder within ±15 D with an axis in 1..180 (and axis 0 without one),
// add within 0..+5.00 D, each prism component within 0..30 Δ with a base
// exactly when the amount is not zero, and a non-negative vertex distance.
func (r Refraction) Validate() error {
	switch {
	case r.Sphere.Abs() > MaxSphere:
		return Invalidf("sphere %s D outside ±%s D", r.Sphere, MaxSphere)
	case r.Cylinder.Abs() > MaxCylinder:
		return Invalidf("cylinder %s D outside ±%s D", r.Cylinder, MaxCylinder)
	case r.Cylinder != 0 && (r.Axis < 1 || r.Axis > 180):
		return Invalidf("cylinder %s D needs an axis in 1..180, not %d", r.Cylinder, r.Axis)
	case r.Cylinder == 0 && r.Axis != 0:
		return Invalidf("axis %d without a cylinder", r.Axis)
	case r.Add < 0 || r.Add > MaxAdd:
		return Invalidf("add %s D outside 0..+%s D", r.Add, MaxAdd)
	case r.Vertex < 0:
		return Invalidf("vertex distance %s mm is negative", r.Vertex)
	}
	p := r.Prism
	switch {
	case p.H < 0 || p.H > MaxPrism || p.V < 0 || p.V > MaxPrism:
		return Invalidf("prism outside 0..%sΔ", MaxPrism)
	case (p.H != 0) != (p.HBase == BaseIn || p.HBase == BaseOut):
		return invalid("horizontal prism needs an amount and a base (BI or BO) together")
	case (p.V != 0) != (p.VBase == BaseUp || p.VBase == BaseDown):
		return invalid("vertical prism needs an amount and a base (BU or BD) together")
	}
	return nil
}
