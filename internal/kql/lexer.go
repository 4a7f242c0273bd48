package kql

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Error is a syntax or compile error at a position of the query text.
// Line and Col are 1-based; Col counts characters (runes), not bytes.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Pos is a position in the query text (1-based line and column).
type Pos struct{ Line, Col int }

func errAt(p Pos, format string, args ...any) *Error {
	return &Error{Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tInt
	tReal
	tTimespan
	tDatetime
	tOp // punctuation and symbolic operators, also "!contains"-style word operators
)

func (k tokKind) String() string {
	return [...]string{"end of query", "identifier", "string", "integer", "number", "timespan", "datetime", "operator"}[k]
}

type token struct {
	kind tokKind
	text string // identifier name, string value, operator text, or literal source
	pos  Pos
	// decoded literal values
	i   int64
	f   float64
	d   time.Duration
	t   time.Time
	raw string // the source text, for error messages
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return "string " + strconv.Quote(t.text)
	case tIdent:
		return "'" + t.text + "'"
	default:
		return "'" + t.raw + "'"
	}
}

// maxTokens bounds the work done on one query.
const maxTokens = 100000

type lexer struct {
	src  string
	off  int
	line int
	col  int
	toks []token
}

func lex(src string) ([]token, error) {
	if !utf8.ValidString(src) {
		return nil, &Error{Line: 1, Col: 1, Msg: "query is not valid UTF-8"}
	}
	l := &lexer{src: src, line: 1, col: 1}
	for {
		l.skipSpace()
		if len(l.toks) > maxTokens {
			return nil, errAt(l.pos(), "query too long (more than %d tokens)", maxTokens)
		}
		if l.off >= len(l.src) {
			l.toks = append(l.toks, token{kind: tEOF, pos: l.pos()})
			return l.toks, nil
		}
		if err := l.next(); err != nil {
			return nil, err
		}
	}
}

func (l *lexer) pos() Pos { return Pos{l.line, l.col} }

func (l *lexer) peek(n int) rune {
	off := l.off
	for ; n > 0 && off < len(l.src); n-- {
		_, w := utf8.DecodeRuneInString(l.src[off:])
		off += w
	}
	if off >= len(l.src) {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(l.src[off:])
	return r
}

func (l *lexer) advance() rune {
	r, w := utf8.DecodeRuneInString(l.src[l.off:])
	l.off += w
	if r == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	return r
}

func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		r := l.peek(0)
		switch {
		case r == '/' && l.peek(1) == '/':
			for l.off < len(l.src) && l.peek(0) != '\n' {
				l.advance()
			}
		case unicode.IsSpace(r):
			l.advance()
		default:
			return
		}
	}
}

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// dashWords are operators whose names contain a dash (project-away); the
// lexer joins them so the parser sees one identifier.
var dashWords = map[string][]string{
	"project": {"away", "rename", "keep", "reorder"},
	"mv":      {"expand"},
}

func (l *lexer) emit(t token) { l.toks = append(l.toks, t) }

func (l *lexer) next() error {
	start := l.pos()
	startOff := l.off
	r := l.peek(0)
	switch {
	case isIdentStart(r):
		for l.off < len(l.src) && (isIdentPart(l.peek(0)) || (l.off == startOff && l.peek(0) == '$')) {
			l.advance()
		}
		word := l.src[startOff:l.off]
		if suffixes, ok := dashWords[word]; ok && l.peek(0) == '-' {
			for _, s := range suffixes {
				if strings.HasPrefix(l.src[l.off+1:], s) && !isIdentPart(runeAt(l.src, l.off+1+len(s))) {
					for range len(s) + 1 {
						l.advance()
					}
					word = l.src[startOff:l.off]
					break
				}
			}
		}
		if word == "in" && l.peek(0) == '~' {
			l.advance()
			l.emit(token{kind: tOp, text: "in~", raw: "in~", pos: start})
			return nil
		}
		if word == "datetime" || word == "timespan" || word == "time" {
			if ok, err := l.typedLiteral(word, start, startOff); ok || err != nil {
				return err
			}
		}
		l.emit(token{kind: tIdent, text: word, raw: word, pos: start})
		return nil
	case r >= '0' && r <= '9' || (r == '.' && l.peek(1) >= '0' && l.peek(1) <= '9'):
		return l.number(start, startOff)
	case r == '"' || r == '\'':
		return l.str(start, r, r)
	case r == '‘':
		return l.str(start, r, '’')
	case r == '“':
		return l.str(start, r, '”')
	case r == '@' && (l.peek(1) == '"' || l.peek(1) == '\''):
		l.advance()
		q := l.peek(0)
		return l.verbatim(start, q)
	case r == '[' && (l.peek(1) == '\'' || l.peek(1) == '"'):
		// ['quoted identifier']
		l.advance()
		q := l.peek(0)
		if err := l.str(start, q, q); err != nil {
			return err
		}
		s := l.toks[len(l.toks)-1]
		if l.peek(0) != ']' {
			return errAt(l.pos(), "expected ']' after quoted identifier, found %s", describeRune(l.peek(0), l.off >= len(l.src)))
		}
		l.advance()
		l.toks[len(l.toks)-1] = token{kind: tIdent, text: s.text, raw: l.src[startOff:l.off], pos: start}
		return nil
	case r == '!':
		l.advance()
		if isIdentStart(l.peek(0)) && l.peek(0) != '$' {
			ws := l.off
			for l.off < len(l.src) && isIdentPart(l.peek(0)) {
				l.advance()
			}
			word := "!" + l.src[ws:l.off]
			if word == "!in" && l.peek(0) == '~' {
				l.advance()
				word = "!in~"
			}
			l.emit(token{kind: tOp, text: word, raw: word, pos: start})
			return nil
		}
		if l.peek(0) == '=' || l.peek(0) == '~' {
			op := "!" + string(l.advance())
			l.emit(token{kind: tOp, text: op, raw: op, pos: start})
			return nil
		}
		return errAt(start, "unexpected '!' (expected '!=', '!~' or an operator like '!contains')")
	}
	// punctuation
	two := ""
	if l.off+1 < len(l.src) {
		two = l.src[l.off : l.off+2]
	}
	switch two {
	case "==", "<=", ">=", "<>", "=~", "..":
		l.advance()
		l.advance()
		l.emit(token{kind: tOp, text: two, raw: two, pos: start})
		return nil
	}
	switch r {
	case '|', '(', ')', ',', ';', '=', '<', '>', '+', '-', '*', '/', '%', '.', '[', ']', ':', '{', '}':
		l.advance()
		l.emit(token{kind: tOp, text: string(r), raw: string(r), pos: start})
		return nil
	}
	return errAt(start, "unexpected character %s", describeRune(r, false))
}

func runeAt(s string, off int) rune {
	if off >= len(s) {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(s[off:])
	return r
}

func describeRune(r rune, eof bool) string {
	if eof {
		return "end of query"
	}
	return strconv.QuoteRune(r)
}

var timespanUnits = map[string]time.Duration{
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"tick": 100 * time.Nanosecond, "ticks": 100 * time.Nanosecond,
}

func (l *lexer) number(start Pos, startOff int) error {
	isReal := false
	for l.off < len(l.src) {
		r := l.peek(0)
		if r >= '0' && r <= '9' {
			l.advance()
			continue
		}
		if r == '.' && l.peek(1) != '.' && !isReal {
			isReal = true
			l.advance()
			continue
		}
		if (r == 'e' || r == 'E') && (isDigit(l.peek(1)) || ((l.peek(1) == '-' || l.peek(1) == '+') && isDigit(l.peek(2)))) {
			isReal = true
			l.advance()
			if l.peek(0) == '-' || l.peek(0) == '+' {
				l.advance()
			}
			for isDigit(l.peek(0)) {
				l.advance()
			}
		}
		break
	}
	numText := l.src[startOff:l.off]
	if isIdentStart(l.peek(0)) {
		us := l.off
		for l.off < len(l.src) && isIdentPart(l.peek(0)) {
			l.advance()
		}
		unit := l.src[us:l.off]
		mult, ok := timespanUnits[strings.ToLower(unit)]
		if !ok {
			return errAt(start, "invalid timespan unit %q in %q (expected d, h, m, s, ms, microsecond or tick)", unit, l.src[startOff:l.off])
		}
		v, err := strconv.ParseFloat(numText, 64)
		if err != nil || v*float64(mult) > float64(1<<62) {
			return errAt(start, "timespan %q out of range", l.src[startOff:l.off])
		}
		raw := l.src[startOff:l.off]
		l.emit(token{kind: tTimespan, d: time.Duration(v * float64(mult)), raw: raw, text: raw, pos: start})
		return nil
	}
	if isReal {
		v, err := strconv.ParseFloat(numText, 64)
		if err != nil {
			return errAt(start, "invalid number %q", numText)
		}
		l.emit(token{kind: tReal, f: v, raw: numText, text: numText, pos: start})
		return nil
	}
	v, err := strconv.ParseInt(numText, 10, 64)
	if err != nil {
		return errAt(start, "integer %s out of range", numText)
	}
	l.emit(token{kind: tInt, i: v, raw: numText, text: numText, pos: start})
	return nil
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func (l *lexer) str(start Pos, open, closeQ rune) error {
	startOff := l.off
	l.advance() // opening quote
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return errAt(start, "unterminated string (expected closing %s)", strconv.QuoteRune(closeQ))
		}
		r := l.advance()
		switch {
		case r == closeQ:
			l.emit(token{kind: tString, text: b.String(), raw: l.src[startOff:l.off], pos: start})
			return nil
		case r == '\n':
			return errAt(start, "unterminated string (newline before closing %s)", strconv.QuoteRune(closeQ))
		case r == '\\':
			if l.off >= len(l.src) {
				return errAt(start, "unterminated string")
			}
			e := l.advance()
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"', '’', '”':
				b.WriteRune(e)
			default:
				// KQL keeps unknown escapes; regexes like "\d" rely on it.
				b.WriteByte('\\')
				b.WriteRune(e)
			}
		case r == 0:
			return errAt(start, "NUL character in string")
		default:
			b.WriteRune(r)
		}
	}
}

func (l *lexer) verbatim(start Pos, q rune) error {
	l.advance()
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return errAt(start, "unterminated string (expected closing %s)", strconv.QuoteRune(q))
		}
		r := l.advance()
		if r == q {
			if l.peek(0) == q { // doubled quote inside a verbatim string
				l.advance()
				b.WriteRune(q)
				continue
			}
			l.emit(token{kind: tString, text: b.String(), raw: "@" + string(q) + b.String() + string(q), pos: start})
			return nil
		}
		if r == '\n' || r == 0 {
			return errAt(start, "unterminated string")
		}
		b.WriteRune(r)
	}
}

// typedLiteral lexes datetime(...) and timespan(...)/time(...) whose
// contents are not ordinary tokens (datetime(2026-11-30 10:00)).
func (l *lexer) typedLiteral(word string, start Pos, startOff int) (bool, error) {
	// look past spaces for '('
	save := *l
	for l.off < len(l.src) && (l.peek(0) == ' ' || l.peek(0) == '\t') {
		l.advance()
	}
	if l.peek(0) != '(' {
		*l = save
		return false, nil
	}
	l.advance()
	inner := l.off
	for l.off < len(l.src) && l.peek(0) != ')' && l.peek(0) != '\n' {
		l.advance()
	}
	if l.peek(0) != ')' {
		return true, errAt(start, "unterminated %s( literal (expected ')')", word)
	}
	body := strings.TrimSpace(l.src[inner:l.off])
	l.advance()
	raw := l.src[startOff:l.off]
	body = strings.Trim(body, `"'‘’“”`)
	if word == "datetime" {
		if body == "" || body == "null" {
			return true, errAt(start, "datetime(%s) is not supported (expected a date such as datetime(2026-11-30 10:00))", body)
		}
		t, err := parseDatetime(body)
		if err != nil {
			return true, errAt(start, "invalid datetime %q (expected e.g. 2026-11-30, 2026-11-30 10:00:00 or 2026-11-30T10:00:00Z)", body)
		}
		l.emit(token{kind: tDatetime, t: t, raw: raw, text: raw, pos: start})
		return true, nil
	}
	d, err := parseTimespan(body)
	if err != nil {
		return true, errAt(start, "invalid timespan %q: %v", body, err)
	}
	l.emit(token{kind: tTimespan, d: d, raw: raw, text: raw, pos: start})
	return true, nil
}

var datetimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006/01/02 15:04:05",
	"2006/01/02",
}

// parseDatetime parses the date forms KQL accepts; times without a zone are UTC.
func parseDatetime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "Z") && !strings.Contains(s, "T") {
		s = strings.Replace(s[:len(s)-1], " ", "T", 1) + "Z"
	}
	for _, layout := range datetimeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid datetime %q", s)
}

// parseTimespan parses "1h", "30m", "1.12:00:00" (d.hh:mm:ss) and "00:05:00".
func parseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty timespan")
	}
	// number+unit
	i := 0
	for i < len(s) && (isDigit(rune(s[i])) || s[i] == '.') {
		i++
	}
	if i > 0 && i < len(s) && !strings.Contains(s, ":") {
		if mult, ok := timespanUnits[strings.ToLower(s[i:])]; ok {
			v, err := strconv.ParseFloat(s[:i], 64)
			if err != nil {
				return 0, err
			}
			return time.Duration(v * float64(mult)), nil
		}
		return 0, fmt.Errorf("unknown unit %q", s[i:])
	}
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	var days int64
	if dot := strings.Index(s, "."); dot >= 0 && dot < strings.Index(s, ":") {
		d, err := strconv.ParseInt(s[:dot], 10, 32)
		if err != nil {
			return 0, err
		}
		days, s = d, s[dot+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("expected hh:mm[:ss]")
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 32)
	m, err2 := strconv.ParseInt(parts[1], 10, 32)
	var sec float64
	var err3 error
	if len(parts) == 3 {
		sec, err3 = strconv.ParseFloat(parts[2], 64)
	}
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, fmt.Errorf("expected hh:mm[:ss]")
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second))
	if neg {
		d = -d
	}
	return d, nil
}
