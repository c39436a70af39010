package lane

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file parses, converts and formats visual acuity. The canonical value
// is the decimal acuity of the line read (1.0 = 20/20 = 6/6 = logMAR 0.0):
// decimal = numerator/denominator of a Snellen fraction, logMAR =
// −log10(decimal). Letters missed or read on the next line ("20/25-2",
// "6/9+1") are kept apart in Letters; the logMAR forms count them at
// 0.02 logMAR a letter, the usual score for five-letter lines.

// VANotation is a visual acuity notation.
type VANotation uint8

// Acuity notations.
const (
	VASnellenFeet   VANotation = iota + 1 // 20/x
	VASnellenMetric                       // 6/x
	VADecimal                             // 0.8
	VALogMAR                              // 0.10
)

// String returns "snellen-20", "snellen-6", "decimal" or "logmar".
func (n VANotation) String() string {
	switch n {
	case VASnellenFeet:
		return "snellen-20"
	case VASnellenMetric:
		return "snellen-6"
	case VADecimal:
		return "decimal"
	case VALogMAR:
		return "logmar"
	}
	return "unknown"
}

// Acuity limits: decimal 0.01 (20/2000, logMAR 2.0) to 4.0 (20/5, logMAR
// −0.6). Values below the chart are recorded as CF, HM, LP or NLP.
const (
	MinDecimalVA = 0.01
	MaxDecimalVA = 4.0
	maxVALetters = 9
	vaSlack      = 1e-9
)

// SnellenToDecimal returns numerator/denominator (20/25 → 0.8).
func SnellenToDecimal(numerator, denominator float64) float64 { return numerator / denominator }

// DecimalToLogMAR returns −log10(decimal) (0.8 → 0.097).
func DecimalToLogMAR(decimal float64) float64 { return -math.Log10(decimal) }

// LogMARToDecimal returns 10^−logMAR (0.1 → 0.794).
func LogMARToDecimal(logMAR float64) float64 { return math.Pow(10, -logMAR) }

// ConvertSnellen returns the denominator of the same acuity over another
// test distance: 6/9 is 20/30 (ConvertSnellen(9, 6, 20) = 30).
func ConvertSnellen(denominator, fromNumerator, toNumerator float64) float64 {
	return denominator * toNumerator / fromNumerator
}

// LogMAR returns the acuity in logMAR with letters counted at 0.02 logMAR
// each (20/25-2 → 0.137). ok is false for CF, HM, LP, NLP and for a zero
// value.
func (v VisualAcuity) LogMAR() (logMAR float64, ok bool) {
	if v.LowVision != "" || v.Decimal <= 0 {
		return 0, false
	}
	return DecimalToLogMAR(v.Decimal) - 0.02*float64(v.Letters), true
}

// ParseVA parses an acuity as recorded: Snellen "20/25", "6/9+1",
// "20/25-2", "3/60"; decimal "0.8", "1.0"; logMAR "0.1", "-0.1"; the
// qualifiers "<0.1" and ">1.5" (worse or better than the chart shows); a
// pinhole mark "PH" before or after the value; and CF, HM, LP, NLP (NPL).
// A bare number is read in the bare notation (VALogMAR for logMAR, any
// other for decimal); "logMAR 0.1" or "0.1 logMAR" is logMAR whatever bare
// says. In logMAR, ">1.0" means worse than 1.0 and is stored as VALessThan.
//
// The result's Decimal is the line's decimal acuity, Letters the letter
// count, and Text the canonical spelling in the notation as written (Text
// always re-parses to the same value). Distance and Aided are left for the
// caller. Errors are *NotationError values wrapping ErrInvalid.
func ParseVA(s string, bare VANotation) (VisualAcuity, error) {
	toks, end, err := lex("va", s)
	if err != nil {
		return VisualAcuity{}, err
	}
	p := rxParser{notation: "va", toks: toks, endPos: end}
	var v VisualAcuity
	i := 0
	if isWord(p.at(i), "ph", "pinhole") {
		v.Pinhole = true
		i++
	}
	t := p.at(i)
	if t == nil {
		return v, p.errAt(nil, nil, "empty acuity")
	}
	var written VANotation
	var numerator int64 // Snellen numerator in thousandths; 0 otherwise
	var value int64     // denominator, decimal or logMAR in thousandths
	valueTok := t
	if isWord(t, "cf", "hm", "lp", "nlp", "npl") {
		v.LowVision = strings.ToUpper(t.text)
		if v.LowVision == "NPL" {
			v.LowVision = "NLP"
		}
		i++
	} else {
		if t.kind == tokCompare {
			v.Qualifier = VALessThan
			if t.text == ">" {
				v.Qualifier = VAMoreThan
			}
			i++
		}
		logmar := false
		if isWord(p.at(i), "logmar") {
			logmar = true
			i++
		}
		valueTok = p.at(i)
		n, err := p.number(valueTok, "acuity")
		if err != nil {
			return v, err
		}
		i++
		if s := p.at(i); s != nil && s.kind == tokSlash && !logmar {
			den := p.at(i + 1)
			d, err := p.number(den, "Snellen denominator")
			if err != nil {
				return v, err
			}
			if n.signed || d.signed || n.milli <= 0 || d.milli <= 0 {
				return v, p.errAt(valueTok, nil, "Snellen fraction needs two positive numbers")
			}
			written, numerator, value = VASnellenFeet, n.milli, d.milli
			v.Decimal = SnellenToDecimal(float64(n.milli), float64(d.milli))
			i += 2
		} else {
			if isWord(p.at(i), "logmar") {
				if logmar {
					return v, p.errAt(p.at(i), nil, "logMAR written twice")
				}
				logmar = true
				i++
			}
			if !logmar && bare == VALogMAR {
				logmar = true
			}
			value = n.milli
			if logmar {
				written = VALogMAR
				// Qualifiers point the other way in logMAR: ">1.0" is
				// worse than 1.0, i.e. a smaller decimal.
				switch v.Qualifier {
				case VALessThan:
					v.Qualifier = VAMoreThan
				case VAMoreThan:
					v.Qualifier = VALessThan
				}
				v.Decimal = LogMARToDecimal(float64(n.milli) / 1000)
			} else {
				if n.signed || n.milli <= 0 {
					return v, p.errAt(valueTok, nil, "decimal acuity must be a positive number without a sign")
				}
				written = VADecimal
				v.Decimal = float64(n.milli) / 1000
			}
		}
		if v.Decimal < MinDecimalVA-vaSlack || v.Decimal > MaxDecimalVA+vaSlack {
			return v, p.errAt(valueTok, ErrRange, "acuity outside decimal %g..%g (20/2000..20/5, logMAR 2.0..-0.6); record CF, HM, LP or NLP below the chart", MinDecimalVA, MaxDecimalVA)
		}
		if l := p.at(i); l != nil && l.kind == tokNumber && written != VALogMAR {
			d, why := parseDecimal(l.text)
			switch {
			case why != "" || !d.signed || d.frac > 0 || d.milli == 0 || d.milli%1000 != 0:
				return v, p.errAt(l, nil, "letters must be a signed whole number such as -2 or +1")
			case d.milli > maxVALetters*1000 || d.milli < -maxVALetters*1000:
				return v, p.errAt(l, ErrRange, "letters outside ±%d", maxVALetters)
			case v.Qualifier != VAExact:
				return v, p.errAt(l, nil, "letters cannot follow < or >")
			}
			v.Letters = int(d.milli / 1000)
			i++
		}
	}
	if ph := p.at(i); isWord(ph, "ph", "pinhole") {
		if v.Pinhole {
			return v, p.errAt(ph, nil, "pinhole written twice")
		}
		v.Pinhole = true
		i++
	}
	if t := p.at(i); t != nil {
		return v, p.errAt(t, nil, "unknown token")
	}
	v.Text = vaText(v, written, numerator, value)
	return v, nil
}

// vaText spells v canonically in the notation it was written in.
func vaText(v VisualAcuity, written VANotation, numerator, value int64) string {
	var b strings.Builder
	if v.LowVision != "" {
		b.WriteString(v.LowVision)
	} else {
		b.WriteString(qualifierPrefix(v.Qualifier, written))
		switch written {
		case VASnellenFeet, VASnellenMetric:
			b.WriteString(milliText(numerator, 0) + "/" + milliText(value, 0))
		case VADecimal:
			b.WriteString(milliText(value, 1))
		case VALogMAR:
			b.WriteString(milliText(value, 2) + " logMAR")
		}
		if v.Letters != 0 {
			fmt.Fprintf(&b, "%+d", v.Letters)
		}
	}
	if v.Pinhole {
		b.WriteString(" PH")
	}
	return b.String()
}

// milliText formats thousandths with trailing zeros trimmed but at least
// minFrac decimals ("7.5", "20", "1.0", "0.10").
func milliText(m int64, minFrac int) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	s := fmt.Sprintf("%d.%03d", m/1000, m%1000)
	s = strings.TrimRight(s, "0")
	if frac := len(s) - strings.IndexByte(s, '.') - 1; frac < minFrac {
		s += strings.Repeat("0", minFrac-frac)
	}
	return sign + strings.TrimSuffix(s, ".")
}

func qualifierPrefix(q VAQualifier, n VANotation) string {
	if n == VALogMAR {
		switch q {
		case VALessThan:
			return ">"
		case VAMoreThan:
			return "<"
		}
		return ""
	}
	switch q {
	case VALessThan:
		return "<"
	case VAMoreThan:
		return ">"
	}
	return ""
}

// FormatVA formats v in notation n: "20/25-2", "6/7.5-2", "0.8-2",
// "0.14" (logMAR, letters counted at 0.02 each and clamped to the limits),
// with a "<" or ">" qualifier and a " PH" pinhole mark where they apply.
// Snellen denominators carry one decimal when needed (6/7.5); decimals carry
// two places (three below 0.1). CF, HM, LP and NLP are printed as such in
// every notation. A zero value formats as "".
func FormatVA(v VisualAcuity, n VANotation) string {
	ph := ""
	if v.Pinhole {
		ph = " PH"
	}
	if v.LowVision != "" {
		return v.LowVision + ph
	}
	if v.Decimal <= 0 || math.IsNaN(v.Decimal) || math.IsInf(v.Decimal, 0) {
		return ""
	}
	letters := ""
	if v.Letters != 0 {
		letters = fmt.Sprintf("%+d", v.Letters)
	}
	q := qualifierPrefix(v.Qualifier, n)
	switch n {
	case VASnellenFeet:
		return q + "20/" + oneDecimal(20/v.Decimal) + letters + ph
	case VASnellenMetric:
		return q + "6/" + oneDecimal(6/v.Decimal) + letters + ph
	case VALogMAR:
		l, _ := v.LogMAR()
		lo, hi := DecimalToLogMAR(MaxDecimalVA), DecimalToLogMAR(MinDecimalVA)
		l = math.Max(math.Ceil(lo*100)/100, math.Min(hi, l))
		s := strconv.FormatFloat(math.Round(l*100)/100, 'f', 2, 64)
		if s == "-0.00" {
			s = "0.00"
		}
		return q + s + ph
	default:
		places := 2
		if v.Decimal < 0.1 {
			places = 3
		}
		s := strconv.FormatFloat(v.Decimal, 'f', places, 64)
		s = strings.TrimRight(s, "0")
		if strings.HasSuffix(s, ".") {
			s += "0"
		}
		return q + s + letters + ph
	}
}

// oneDecimal formats x rounded to one decimal, without a trailing ".0".
func oneDecimal(x float64) string {
	return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64)
}
