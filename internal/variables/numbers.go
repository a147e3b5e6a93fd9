package variables

import (
	"math"
	"strconv"
	"strings"
)

// Numbers are read and printed as .NET does in the en-US culture, because
// Octostache's Format and calc hand them to .NET: "1.5", "1E+15", "$23.40".

// formatDouble prints f as .NET Core's double.ToString(): the shortest
// text that reads back as f, in exponent form from 1E+15 or below 1E-05.
func formatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "∞"
	case math.IsInf(f, -1):
		return "-∞"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expText, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if f == 0 {
		return sign + "0"
	}
	if exp >= 15 || exp < -5 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		e := strconv.Itoa(exp)
		if len(e) < 2 {
			e = "0" + e
		}
		return sign + m + "E" + es + e
	}
	return sign + placePoint(digits, exp+1)
}

// placePoint writes digits with the decimal point after the first point
// digits (which may be beyond either end).
func placePoint(digits string, point int) string {
	switch {
	case point <= 0:
		return "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		return digits + strings.Repeat("0", point-len(digits))
	}
	return digits[:point] + "." + digits[point:]
}

// parseFloatInvariant reads digits[.digits] as the calc grammar writes them.
func parseFloatInvariant(s string) (float64, error) {
	return strconv.ParseFloat(s, 64)
}

// parseDoubleDotNet is double.TryParse in en-US: white space, a sign,
// digits with thousands separators, a decimal point, an exponent, or
// Infinity/NaN.
func parseDoubleDotNet(s string) (float64, bool) {
	s = strings.TrimFunc(s, isWS)
	switch s {
	case "Infinity", "∞", "+Infinity", "+∞":
		return math.Inf(1), true
	case "-Infinity", "-∞":
		return math.Inf(-1), true
	case "NaN":
		return math.NaN(), true
	}
	d, ok := parseDecimalText(s, true)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(d, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return 0, false
	}
	return f, true
}

// parseDecimalText validates a .NET number (leading or trailing sign,
// thousands separators before the point, optional exponent when allowExp)
// and returns it in a form strconv reads.
func parseDecimalText(s string, allowExp bool) (string, bool) {
	s = strings.TrimFunc(s, isWS)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasSuffix(s, "-"):
		neg, s = true, s[:len(s)-1]
	case strings.HasSuffix(s, "+"):
		s = s[:len(s)-1]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	digits, seenPoint, seenExp := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
			digits++
		case c == ',' && !seenPoint && !seenExp && digits > 0:
		case c == '.' && !seenPoint && !seenExp:
			seenPoint = true
			b.WriteByte(c)
		case (c == 'e' || c == 'E') && allowExp && !seenExp && digits > 0:
			seenExp = true
			b.WriteByte('e')
			if i+1 < len(s) && (s[i+1] == '+' || s[i+1] == '-') {
				i++
				b.WriteByte(s[i])
			}
			if i+1 >= len(s) {
				return "", false
			}
		default:
			return "", false
		}
	}
	if digits == 0 {
		return "", false
	}
	return b.String(), true
}

// decNum is a number as decimal digits: value = 0.digits × 10^exp.
type decNum struct {
	neg    bool
	digits string // no leading zeros; "" is zero
	exp    int
	scale  int // digits after the point as written (for decimal's G)
}

// decFromText reads a validated number (from parseDecimalText, no exponent).
func decFromText(s string) decNum {
	var d decNum
	if strings.HasPrefix(s, "-") {
		d.neg, s = true, s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	d.scale = len(frac)
	all := strings.TrimLeft(intPart+frac, "0")
	d.exp = len(intPart) - (len(intPart+frac) - len(all))
	d.digits = all
	if strings.Trim(all, "0") == "" {
		d.digits, d.exp = "", 0
	}
	return d
}

// decFromFloat gives f's digits: the shortest round-trip digits for
// general formats, else enough exact digits to round at any precision.
func decFromFloat(f float64, shortest bool) decNum {
	prec := -1
	if !shortest {
		prec = 30
	}
	s := strconv.FormatFloat(f, 'e', prec, 64)
	var d decNum
	if strings.HasPrefix(s, "-") {
		d.neg, s = true, s[1:]
	}
	mant, expText, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expText)
	d.digits = strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
	d.exp = exp + 1
	if d.digits == "" {
		d.exp = 0
	}
	return d
}

// round keeps digits up to `frac` places after the point, rounding half
// away from zero as .NET does.
func (d decNum) round(frac int) decNum {
	keep := d.exp + frac
	if keep >= len(d.digits) {
		return d
	}
	if keep < 0 {
		return decNum{neg: d.neg}
	}
	up := d.digits[keep] >= '5'
	b := []byte(d.digits[:keep])
	if up {
		i := len(b) - 1
		for ; i >= 0; i-- {
			if b[i] < '9' {
				b[i]++
				break
			}
			b[i] = '0'
		}
		if i < 0 {
			b = append([]byte{'1'}, b...)
			d.exp++
		}
	}
	d.digits = strings.TrimRight(string(b), "0")
	if d.digits == "" {
		d.exp = 0
	}
	return d
}

// roundSig keeps n significant digits.
func (d decNum) roundSig(n int) decNum {
	return d.round(n - d.exp)
}

// fixed prints the integer part and exactly frac digits after the point.
func (d decNum) fixed(frac int, group bool) (string, string) {
	d = d.round(frac)
	intDigits := "0"
	if d.exp > 0 {
		intDigits = d.digits
		if len(intDigits) > d.exp {
			intDigits = intDigits[:d.exp]
		} else {
			intDigits += strings.Repeat("0", d.exp-len(intDigits))
		}
	}
	var fracDigits string
	if frac > 0 {
		var all string
		if d.exp >= 0 {
			if len(d.digits) > d.exp {
				all = d.digits[d.exp:]
			}
		} else {
			all = strings.Repeat("0", -d.exp) + d.digits
		}
		if len(all) < frac {
			all += strings.Repeat("0", frac-len(all))
		}
		fracDigits = all[:frac]
	}
	if group {
		intDigits = groupThousands(intDigits)
	}
	return intDigits, fracDigits
}

func groupThousands(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	first := len(s) % 3
	if first > 0 {
		b.WriteString(s[:first])
	}
	for i := first; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

func (d decNum) isZero() bool { return d.digits == "" }

// numKind is the .NET type a number is formatted as.
type numKind int

const (
	kindDecimal numKind = iota
	kindDouble
	kindInt
)

// formatNumber is ToString(format) of a decimal, double or int in en-US;
// ok is false where .NET throws FormatException.
func formatNumber(d decNum, kind numKind, f float64, format string) (string, bool) {
	if kind == kindDouble && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return formatDouble(f), true
	}
	if format == "" {
		format = "G"
	}
	spec := format[0] | 0x20
	precText := format[1:]
	if len(format) <= 3 && spec >= 'a' && spec <= 'z' && allDigits(precText) {
		prec := -1
		if precText != "" {
			prec, _ = strconv.Atoi(precText)
		}
		return standardNumber(d, kind, f, format[0], prec)
	}
	return customNumber(d, format), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func standardNumber(d decNum, kind numKind, f float64, spec byte, prec int) (string, bool) {
	orDefault := func(def int) int {
		if prec < 0 {
			return def
		}
		return prec
	}
	sign := d.signed
	switch spec | 0x20 {
	case 'c':
		i, fr := d.fixed(orDefault(2), true)
		s := "$" + joinPoint(i, fr)
		return sign(s, strings.Trim(i+fr, "0") == ""), true
	case 'f':
		i, fr := d.fixed(orDefault(2), false)
		return sign(joinPoint(i, fr), strings.Trim(i+fr, "0") == ""), true
	case 'n':
		i, fr := d.fixed(orDefault(2), true)
		return sign(joinPoint(i, fr), strings.Trim(i+fr, "0") == ""), true
	case 'p':
		p := d
		if !p.isZero() {
			p.exp += 2
		}
		i, fr := p.fixed(orDefault(2), true)
		return sign(joinPoint(i, fr)+"%", strings.Trim(i+fr, "0") == ""), true
	case 'd':
		if kind != kindInt {
			return "", false
		}
		i, _ := d.fixed(0, false)
		if len(i) < prec {
			i = strings.Repeat("0", prec-len(i)) + i
		}
		return sign(i, d.isZero()), true
	case 'x':
		if kind != kindInt {
			return "", false
		}
		return hexNumber(d, spec, prec), true
	case 'e':
		return exponential(d, spec, orDefault(6)), true
	case 'r':
		if kind == kindDecimal {
			return "", false
		}
		fallthrough
	case 'g':
		return generalNumber(d, kind, f, prec), true
	}
	return "", false
}

// signed puts a minus before s when d is negative and s does not show
// zero (.NET prints no "-0").
func (d decNum) signed(s string, isZero bool) string {
	if d.neg && !isZero {
		return "-" + s
	}
	return s
}

// hexNumber is X or x: an integer's two's complement in 32 bits, padded to
// prec digits.
func hexNumber(d decNum, spec byte, prec int) string {
	i, _ := d.fixed(0, false)
	n, _ := strconv.ParseInt(i, 10, 64)
	if d.neg {
		n = -n
	}
	s := strconv.FormatUint(uint64(uint32(int32(n))), 16)
	if spec == 'X' {
		s = strings.ToUpper(s)
	}
	if len(s) < prec {
		s = strings.Repeat("0", prec-len(s)) + s
	}
	return s
}

// exponential is E or e: one digit, p decimals, and a signed exponent of at
// least three digits.
func exponential(d decNum, spec byte, p int) string {
	r := d.roundSig(p + 1)
	digits := r.digits + strings.Repeat("0", max(0, p+1-len(r.digits)))
	exp := r.exp - 1
	if r.isZero() {
		digits, exp = strings.Repeat("0", p+1), 0
	}
	m := digits[:1]
	if p > 0 {
		m += "." + digits[1:p+1]
	}
	es := "+"
	if exp < 0 {
		es, exp = "-", -exp
	}
	e := strconv.Itoa(exp)
	for len(e) < 3 {
		e = "0" + e
	}
	return d.signed(m+string(spec&^0x20|spec&0x20)+es+e, r.isZero())
}

// generalNumber is G (and R): the shorter of fixed and scientific notation,
// to prec significant digits (a double's shortest round trip without one).
func generalNumber(d decNum, kind numKind, f float64, prec int) string {
	if kind == kindDouble && prec <= 0 {
		return formatDouble(f)
	}
	r := d
	if prec > 0 {
		r = d.roundSig(prec)
	}
	if r.isZero() {
		return "0"
	}
	limit := prec
	if limit <= 0 {
		limit = 29
	}
	if r.exp-1 >= limit || r.exp-1 < -5 {
		m := r.digits[:1]
		if len(r.digits) > 1 {
			m += "." + r.digits[1:]
		}
		es := "+"
		e := r.exp - 1
		if e < 0 {
			es, e = "-", -e
		}
		ex := strconv.Itoa(e)
		if len(ex) < 2 {
			ex = "0" + ex
		}
		return d.signed(m+"E"+es+ex, false)
	}
	if kind == kindDecimal && prec <= 0 {
		i, fr := d.fixed(d.scale, false)
		return d.signed(joinPoint(i, fr), false)
	}
	return d.signed(placePoint(r.digits, r.exp), false)
}

func joinPoint(i, fr string) string {
	if fr == "" {
		return i
	}
	return i + "." + fr
}

// customNumber applies a custom format: 0 and # digit places, "." and ","
// (grouping; commas just before the point divide by 1000), % (×100),
// 'quoted' and \escaped literals, and ;-separated sections for positive,
// negative and zero.
func customNumber(d decNum, format string) string {
	sections := splitSections(format)
	sec := sections[0]
	neg := d.neg && !d.isZero()
	switch {
	case d.isZero() && len(sections) >= 3:
		sec = sections[2]
	case neg && len(sections) >= 2:
		sec = sections[1]
		neg = false // the section writes its own sign
	}
	intPart, fracPart, pct, scaleDiv, group := analyseCustom(sec)
	n := d
	if !n.isZero() {
		n.exp += 2*pct - 3*scaleDiv
	}
	minInt := strings.Count(intPart, "0")
	minFrac := strings.Count(fracPart, "0")
	maxFrac := minFrac + strings.Count(fracPart, "#")
	i, fr := n.fixed(maxFrac, false)
	fr = strings.TrimRight(fr, "0")
	if len(fr) < minFrac {
		fr += strings.Repeat("0", minFrac-len(fr))
	}
	i = strings.TrimLeft(i, "0")
	if len(i) < minInt {
		i = strings.Repeat("0", minInt-len(i)) + i
	}
	if group {
		i = groupThousands(i)
	}
	var b strings.Builder
	if neg && (i+fr) != "" && strings.Trim(i+fr, "0,") != "" {
		b.WriteByte('-')
	}
	// Literals before the first digit place, the digits, then literals after.
	wroteNumber := false
	hasPoint := fracPart != "" || strings.Contains(sec, ".")
	for k := 0; k < len(sec); k++ {
		c := sec[k]
		switch c {
		case '0', '#', ',', '.':
			if !wroteNumber {
				b.WriteString(i)
				if hasPoint && fr != "" {
					b.WriteString("." + fr)
				}
				wroteNumber = true
			}
		case '%':
			b.WriteByte('%')
		case '\\':
			if k+1 < len(sec) {
				k++
				b.WriteByte(sec[k])
			}
		case '\'', '"':
			end := strings.IndexByte(sec[k+1:], c)
			if end < 0 {
				b.WriteString(sec[k+1:])
				k = len(sec)
			} else {
				b.WriteString(sec[k+1 : k+1+end])
				k += end + 1
			}
		default:
			b.WriteByte(c)
		}
	}
	if !wroteNumber {
		return b.String()
	}
	return b.String()
}

func splitSections(format string) []string {
	var out []string
	start := 0
	for k := 0; k < len(format); k++ {
		switch format[k] {
		case '\\':
			k++
		case '\'', '"':
			if end := strings.IndexByte(format[k+1:], format[k]); end >= 0 {
				k += end + 1
			}
		case ';':
			out = append(out, format[start:k])
			start = k + 1
		}
	}
	return append(out, format[start:])
}

// analyseCustom splits a section's digit places around the point and
// counts percent signs and scaling commas.
func analyseCustom(sec string) (intPart, fracPart string, pct, scaleDiv int, group bool) {
	var places strings.Builder
	for k := 0; k < len(sec); k++ {
		c := sec[k]
		switch c {
		case '\\':
			k++
		case '\'', '"':
			if end := strings.IndexByte(sec[k+1:], c); end >= 0 {
				k += end + 1
			} else {
				k = len(sec)
			}
		case '%':
			pct++
		case '0', '#', '.', ',':
			places.WriteByte(c)
		}
	}
	p := places.String()
	intPart, fracPart, _ = strings.Cut(p, ".")
	fracPart = strings.ReplaceAll(fracPart, ",", "")
	trimmed := strings.TrimRight(intPart, ",")
	scaleDiv = len(intPart) - len(trimmed)
	group = strings.Contains(trimmed, ",")
	intPart = strings.ReplaceAll(trimmed, ",", "")
	return
}
