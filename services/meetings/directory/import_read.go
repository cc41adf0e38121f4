package directory

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/unaccent"
	"github.com/xuri/excelize/v2"
)

// Import files: one header row (Vietnamese or English headers, found among
// the first rows so a title above the table is fine), then one member per
// row. Reading is pure; checks against the directory come after (import.go).

const (
	maxImportBytes    = 10 << 20 // a list of 5,000 members is well under 1 MiB
	maxImportRows     = 5000
	maxImportProblems = 1000
	headerSearchRows  = 10
	// xlsx files are zip archives: bound what they may unpack to.
	maxUnzippedBytes = 64 << 20
)

// column is one field an import file can carry.
type column int

const (
	colName column = iota
	colCard
	colEmail
	colPhone
	colRole
	colBody
	colStanding
	colExcused
	colStart
	numColumns
)

// columnSpec names a column (its Vietnamese header is the one reported when
// the column is missing) and the headers accepted for it, compared folded
// (see headerKey).
type columnSpec struct {
	header   string
	required bool
	aliases  []string
}

var columns = [numColumns]columnSpec{
	colName:     {"Họ và tên", true, []string{"ho va ten", "ho ten", "full name", "name"}},
	colCard:     {"Số thẻ đảng", false, []string{"so the dang", "so the dang vien", "so the", "party card number", "party card", "card number"}},
	colEmail:    {"Email", false, []string{"email", "thu dien tu", "e mail"}},
	colPhone:    {"Điện thoại", false, []string{"dien thoai", "so dien thoai", "sdt", "phone", "phone number", "telephone"}},
	colRole:     {"Chức vụ", false, []string{"chuc vu", "role", "position"}},
	colBody:     {"Cơ quan", false, []string{"co quan", "body"}},
	colStanding: {"Loại đảng viên", true, []string{"loai dang vien", "standing", "member type"}},
	colExcused:  {"Miễn sinh hoạt", false, []string{"mien sinh hoat", "excused"}},
	colStart:    {"Ngày vào", false, []string{"ngay vao", "ngay bat dau", "start date", "joined"}},
}

// ignoredHeaders are columns spreadsheets commonly carry that the import
// does not need: a running number and remarks. Any other unknown header is
// reported, since it is most likely a misspelt one whose data would
// otherwise be silently dropped.
var ignoredHeaders = []string{"stt", "tt", "so tt", "so thu tu", "ghi chu", "no", "notes", "note", "remarks"}

// Values accepted in the enumerated columns, folded.
var (
	roleValues = map[string]meetingsv1.PartyRole{
		"bi thu": meetingsv1.PartyRole_PARTY_ROLE_SECRETARY, "secretary": meetingsv1.PartyRole_PARTY_ROLE_SECRETARY,
		"pho bi thu": meetingsv1.PartyRole_PARTY_ROLE_DEPUTY_SECRETARY, "deputy secretary": meetingsv1.PartyRole_PARTY_ROLE_DEPUTY_SECRETARY,
		"deputy":  meetingsv1.PartyRole_PARTY_ROLE_DEPUTY_SECRETARY,
		"uy vien": meetingsv1.PartyRole_PARTY_ROLE_COMMITTEE_MEMBER, "committee member": meetingsv1.PartyRole_PARTY_ROLE_COMMITTEE_MEMBER,
		"dang vien": meetingsv1.PartyRole_PARTY_ROLE_MEMBER, "member": meetingsv1.PartyRole_PARTY_ROLE_MEMBER,
	}
	bodyValues = map[string]meetingsv1.BodyKind{
		"toan chi bo": meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS, "toan dang bo": meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS,
		"chi bo": meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS, "dang bo": meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS,
		"all members": meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS,
		"bch":         meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE, "ban chap hanh": meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE,
		"executive committee": meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE,
		"btv":                 meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE, "ban thuong vu": meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE,
		"standing committee": meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE,
		"thuong truc":        meetingsv1.BodyKind_BODY_KIND_STANDING_MEMBERS, "standing members": meetingsv1.BodyKind_BODY_KIND_STANDING_MEMBERS,
	}
	standingValues = map[string]meetingsv1.Standing{
		"chinh thuc": meetingsv1.Standing_STANDING_OFFICIAL, "official": meetingsv1.Standing_STANDING_OFFICIAL,
		"du bi": meetingsv1.Standing_STANDING_PROBATIONARY, "probationary": meetingsv1.Standing_STANDING_PROBATIONARY,
	}
	yesValues = []string{"co", "x", "yes", "y", "true", "1"}
	noValues  = []string{"khong", "no", "n", "false", "0"}
)

// importRow is one valid data row.
type importRow struct {
	Row      int // as the spreadsheet shows it
	Person   personFields
	Body     meetingsv1.BodyKind
	Role     meetingsv1.PartyRole
	Standing meetingsv1.Standing
	Excused  bool
	Start    time.Time
}

// problemList collects problems in the order found.
type problemList []*meetingsv1.ImportProblem

func (ps *problemList) add(row int, col, reason string) {
	*ps = append(*ps, &meetingsv1.ImportProblem{Row: int32(row), Column: col, Reason: reason})
}

// sheet is the table read from a file, cells as text, and the row number
// the spreadsheet shows for each of its rows.
type sheet struct {
	rows    [][]string
	numbers []int
	// excel is true for .xlsx, whose date cells arrive as serial numbers.
	excel bool
}

var (
	zipMagic = []byte("PK\x03\x04")
	// Old binary .xls files and password-protected .xlsx are OLE
	// compound documents.
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	utf8BOM  = []byte{0xEF, 0xBB, 0xBF}
)

// readSheet recognises the format by content (the name only helps with the
// message) and returns the table, or the one file-level problem.
func readSheet(content []byte, fileName string) (sheet, string) {
	ext := strings.ToLower(path.Ext(fileName))
	switch {
	case len(bytes.TrimSpace(content)) == 0:
		return sheet{}, "Tệp rỗng: không có dữ liệu để nhập."
	case len(content) > maxImportBytes:
		return sheet{}, fmt.Sprintf("Tệp quá lớn (%d MB); tối đa %d MB.", len(content)>>20, maxImportBytes>>20)
	case bytes.HasPrefix(content, zipMagic):
		return readXLSX(content)
	case bytes.HasPrefix(content, oleMagic):
		return sheet{}, "Tệp Excel định dạng cũ (.xls) hoặc có đặt mật khẩu không được hỗ trợ: hãy mở trong Excel và lưu thành .xlsx (không mật khẩu)."
	case ext == ".xlsx" || ext == ".xlsm":
		return sheet{}, "Tệp có đuôi .xlsx nhưng không phải bảng tính Excel hợp lệ."
	case bytes.HasPrefix(content, []byte{0xFF, 0xFE}) || bytes.HasPrefix(content, []byte{0xFE, 0xFF}):
		return sheet{}, "Tệp văn bản mã UTF-16 không được hỗ trợ: hãy lưu thành \"CSV UTF-8\" hoặc .xlsx."
	case !utf8.Valid(content) || bytes.IndexByte(content, 0) >= 0:
		if ext == ".csv" || ext == ".txt" {
			return sheet{}, "Tệp CSV không dùng mã UTF-8: hãy lưu thành \"CSV UTF-8 (phân tách bằng dấu phẩy)\"."
		}
		return sheet{}, "Tệp không phải bảng tính: chỉ nhận tệp Excel (.xlsx) hoặc CSV."
	}
	return readCSV(bytes.TrimPrefix(content, utf8BOM))
}

func readXLSX(content []byte) (sheet, string) {
	f, err := excelize.OpenReader(bytes.NewReader(content), excelize.Options{
		UnzipSizeLimit: maxUnzippedBytes, UnzipXMLSizeLimit: maxUnzippedBytes})
	if err != nil {
		return sheet{}, "Không đọc được tệp Excel: tệp bị hỏng hoặc không phải .xlsx."
	}
	defer f.Close()
	// The first sheet that has a header row; a workbook often starts with
	// an instructions or cover sheet.
	var first *sheet
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			return sheet{}, "Không đọc được tệp Excel: tệp bị hỏng hoặc không phải .xlsx."
		}
		s := sheet{rows: rows, excel: true}
		for i := range rows {
			s.numbers = append(s.numbers, i+1) // GetRows keeps blank rows
		}
		if _, ok := findHeader(s); ok {
			return s, ""
		}
		if first == nil {
			first = &s
		}
	}
	if first == nil {
		return sheet{}, "Tệp Excel không có trang tính nào."
	}
	return *first, ""
}

func readCSV(content []byte) (sheet, string) {
	text := string(content)
	sep := ','
	// Excel's own hint line, "sep=;", names the separator.
	if firstLine, rest, _ := strings.Cut(text, "\n"); strings.HasPrefix(strings.ToLower(strings.TrimSpace(firstLine)), "sep=") {
		if v := strings.TrimSpace(firstLine)[4:]; utf8.RuneCountInString(v) == 1 {
			sep, _ = utf8.DecodeRuneInString(v)
			text = "\n" + rest // keep the line numbering
		}
	} else {
		sep = guessSeparator(firstLine)
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sep
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var s sheet
	// Row numbers as a spreadsheet shows them: csv.Reader skips blank
	// lines and a quoted cell may span lines, so count from where each
	// record starts and where the previous one ended.
	row, prevEnd := 0, 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return sheet{}, fmt.Sprintf("Không đọc được tệp CSV ở dòng %d: %v.", pe.StartLine, pe.Err)
			}
			return sheet{}, "Không đọc được tệp CSV."
		}
		start, _ := r.FieldPos(0)
		row += start - prevEnd
		last := len(rec) - 1
		endLine, _ := r.FieldPos(last)
		prevEnd = endLine + strings.Count(rec[last], "\n")
		s.rows = append(s.rows, rec)
		s.numbers = append(s.numbers, row)
		if len(s.rows) > maxImportRows+headerSearchRows {
			break // readRows reports the excess
		}
	}
	return s, ""
}

// guessSeparator picks the most frequent of comma, semicolon and tab in the
// header line: Excel in Vietnamese (and many European) locales writes CSV
// with semicolons.
func guessSeparator(line string) rune {
	best, n := ',', strings.Count(line, ",")
	for _, c := range []rune{';', '\t'} {
		if k := strings.Count(line, string(c)); k > n {
			best, n = c, k
		}
	}
	return best
}

// headerKey folds a header cell for comparison: "Họ và tên (*)" and "HO VA
// TEN" both give "ho va ten", "E-mail" gives "email".
func headerKey(s string) string {
	var b strings.Builder
	for _, r := range unaccent.Fold(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' {
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func columnOf(header string) (column, bool) {
	key := headerKey(header)
	for c, spec := range columns {
		if slices.Contains(spec.aliases, key) {
			return column(c), true
		}
	}
	return 0, false
}

// findHeader returns the index of the header row: the first of the first
// rows with a cell naming a known column.
func findHeader(s sheet) (int, bool) {
	for i := 0; i < len(s.rows) && i < headerSearchRows; i++ {
		for _, cell := range s.rows[i] {
			if _, ok := columnOf(cell); ok {
				return i, true
			}
		}
	}
	return 0, false
}

// table is the data of a file: its valid rows, how many data rows it had,
// and each column's header as the file spells it (for problem reports).
type table struct {
	rows    []importRow
	n       int
	headers [numColumns]string
}

// readRows maps the header and turns every data row into an importRow,
// collecting a problem for every bad cell. Rows with problems are not
// returned. File-level problems (row 0) stop the reading.
func readRows(s sheet, today time.Time) (table, problemList) {
	var ps problemList
	var t table
	h, ok := findHeader(s)
	if !ok {
		ps.add(0, "", "Không tìm thấy dòng tiêu đề. Dòng đầu của bảng phải có các cột: "+expectedHeaders()+".")
		return t, ps
	}
	pos := [numColumns]int{}
	headers := &t.headers
	for i := range pos {
		pos[i] = -1
	}
	for i, cell := range s.rows[h] {
		cell = normalizeName(cell)
		if cell == "" {
			continue
		}
		c, ok := columnOf(cell)
		switch {
		case !ok && slices.Contains(ignoredHeaders, headerKey(cell)):
		case !ok:
			ps.add(0, cell, fmt.Sprintf("Cột \"%s\" không được hỗ trợ. Các cột được nhận: %s.", cell, expectedHeaders()))
		case pos[c] >= 0:
			ps.add(0, cell, fmt.Sprintf("Cột \"%s\" xuất hiện hai lần (trùng với cột \"%s\").", cell, headers[c]))
		default:
			pos[c], headers[c] = i, cell
		}
	}
	for c, spec := range columns {
		if spec.required && pos[c] < 0 {
			ps.add(0, spec.header, fmt.Sprintf("Thiếu cột bắt buộc \"%s\".", spec.header))
		}
	}
	if len(ps) > 0 {
		return t, ps
	}

	for i := h + 1; i < len(s.rows); i++ {
		cells := s.rows[i]
		if isBlankRow(cells) {
			continue
		}
		t.n++
		if t.n > maxImportRows {
			return table{n: t.n}, problemList{{Row: 0, Reason: fmt.Sprintf("Tệp có quá nhiều dòng: tối đa %d thành viên mỗi lần nhập.", maxImportRows)}}
		}
		get := func(c column) string {
			if pos[c] < 0 || pos[c] >= len(cells) {
				return ""
			}
			return cells[pos[c]]
		}
		r, rowProblems := readRow(s.numbers[i], get, t.headers, s.excel, today)
		ps = append(ps, rowProblems...)
		if len(rowProblems) == 0 {
			t.rows = append(t.rows, r)
		}
	}
	if t.n == 0 {
		ps.add(0, "", "Tệp không có dòng dữ liệu nào dưới dòng tiêu đề.")
	}
	return t, ps
}

// readRow checks one data row; every bad cell is one problem.
func readRow(row int, get func(column) string, headers [numColumns]string, excel bool, today time.Time) (importRow, problemList) {
	var ps problemList
	bad := func(c column, reason string) { ps.add(row, headers[c], reason) }
	r := importRow{Row: row,
		Person: personFields{FullName: normalizeName(get(colName)), Email: normalize(get(colEmail)),
			Phone: normalize(get(colPhone)), Card: normalizeCard(get(colCard))}}

	switch name := r.Person.FullName; {
	case name == "":
		bad(colName, "Họ và tên không được để trống.")
	case utf8.RuneCountInString(name) > maxNameLen:
		bad(colName, fmt.Sprintf("Họ và tên dài quá %d ký tự.", maxNameLen))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		bad(colName, "Họ và tên chứa ký tự điều khiển (xuống dòng, tab…).")
	}
	if card := r.Person.Card; card != "" && (utf8.RuneCountInString(card) > maxCardLen || !validCard(card)) {
		bad(colCard, fmt.Sprintf("Số thẻ đảng \"%s\" không hợp lệ: chỉ gồm chữ số, chữ cái Latinh, '.', '-', '/' và tối đa %d ký tự.", card, maxCardLen))
	}
	if e := r.Person.Email; e != "" && (utf8.RuneCountInString(e) > maxEmailLen || !validEmail(e)) {
		bad(colEmail, fmt.Sprintf("Email \"%s\" không hợp lệ.", e))
	}
	if p := r.Person.Phone; p != "" {
		// A phone number typed into a number cell loses its leading 0
		// (0912345678 becomes 912345678).
		if len(p) == 9 && p[0] != '0' && strings.Trim(p, "0123456789") == "" {
			p = "0" + p
			r.Person.Phone = p
		}
		if utf8.RuneCountInString(p) > maxPhoneLen || !validPhone(p) {
			bad(colPhone, fmt.Sprintf("Số điện thoại \"%s\" không hợp lệ (cần 8 đến 15 chữ số).", p))
		}
	}

	r.Role = meetingsv1.PartyRole_PARTY_ROLE_MEMBER
	if v := normalize(get(colRole)); v != "" {
		if role, ok := roleValues[headerKey(v)]; ok {
			r.Role = role
		} else {
			bad(colRole, fmt.Sprintf("Chức vụ \"%s\" không hợp lệ: dùng Bí thư, Phó Bí thư, Ủy viên hoặc Đảng viên.", v))
		}
	}
	r.Body = meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS
	if v := normalize(get(colBody)); v != "" {
		if body, ok := bodyValues[headerKey(v)]; ok {
			r.Body = body
		} else {
			bad(colBody, fmt.Sprintf("Cơ quan \"%s\" không hợp lệ: dùng Toàn chi bộ, BCH, BTV hoặc Thường trực.", v))
		}
	}
	switch v := normalize(get(colStanding)); {
	case v == "":
		bad(colStanding, "Loại đảng viên không được để trống: ghi Chính thức hoặc Dự bị.")
	default:
		if st, ok := standingValues[headerKey(v)]; ok {
			r.Standing = st
		} else {
			bad(colStanding, fmt.Sprintf("Loại đảng viên \"%s\" không hợp lệ: ghi Chính thức hoặc Dự bị.", v))
		}
	}
	if v := normalize(get(colExcused)); v != "" {
		switch k := headerKey(v); {
		case slices.Contains(yesValues, k):
			r.Excused = true
		case slices.Contains(noValues, k):
		default:
			bad(colExcused, fmt.Sprintf("Miễn sinh hoạt \"%s\" không hợp lệ: ghi Có hoặc Không (để trống là Không).", v))
		}
	}
	r.Start = today
	if v := normalize(get(colStart)); v != "" {
		d, ok := parseImportDate(v, excel)
		switch {
		case !ok:
			bad(colStart, fmt.Sprintf("Ngày vào \"%s\" không hợp lệ: ghi theo dạng ngày/tháng/năm, ví dụ 03/02/2015.", v))
		case d.After(today):
			bad(colStart, fmt.Sprintf("Ngày vào %s ở tương lai.", d.Format("02/01/2006")))
		case d.Year() < 1930:
			bad(colStart, fmt.Sprintf("Ngày vào %s trước năm thành lập Đảng (1930).", d.Format("02/01/2006")))
		default:
			r.Start = d
		}
	}
	return r, ps
}

// parseImportDate reads day/month/year as Vietnamese write it (03/02/2015
// is 3 February), ISO dates, and, from Excel, date cells, which arrive as
// serial day numbers.
func parseImportDate(s string, excel bool) (time.Time, bool) {
	for _, layout := range []string{"2/1/2006", "2-1-2006", "2.1.2006", "2006-01-02"} {
		if d, err := time.Parse(layout, s); err == nil {
			return d, true
		}
	}
	if excel {
		if serial, err := strconv.ParseFloat(s, 64); err == nil && serial >= 1 && serial < 2958466 {
			t, err := excelize.ExcelDateToTime(serial, false)
			if err == nil {
				y, m, d := t.Date()
				return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), true
			}
		}
	}
	return time.Time{}, false
}

func isBlankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func expectedHeaders() string {
	var names []string
	for _, spec := range columns {
		h := "\"" + spec.header + "\""
		if spec.required {
			h += " (bắt buộc)"
		}
		names = append(names, h)
	}
	return strings.Join(names, ", ")
}
