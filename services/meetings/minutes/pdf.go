package minutes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// The fonts of the PDF: DejaVu Sans has every Vietnamese letter, and
// Debian's fonts-dejavu-core (installed by scripts/test.sh and the Docker
// image) ships the regular and bold faces. Italics are slanted regular
// (fonts-dejavu-core has no oblique face).
const (
	fontFamily   = "DejaVuSans"
	fontRegular  = "DejaVuSans.ttf"
	fontBold     = "DejaVuSans-Bold.ttf"
	italicDegree = 12
)

// missingFont is a font file that cannot be read: the export fails rather
// than print Vietnamese text in a font without its letters.
type missingFont struct {
	path string
	err  error
}

func (e *missingFont) Error() string {
	return fmt.Sprintf("font file %s cannot be read (install Debian's fonts-dejavu-core or configure the minutes font directory): %v", e.path, e.err)
}

func readFont(dir, name string) ([]byte, error) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &missingFont{path: path, err: err}
	}
	return b, nil
}

// Page geometry in millimetres: A4 with the margins of Vietnamese
// administrative documents (wide left margin for binding).
const (
	marginLeft   = 25.0
	marginRight  = 15.0
	marginTop    = 20.0
	marginBottom = 20.0
	pageWidth    = 210.0
	bodyWidth    = pageWidth - marginLeft - marginRight
	leftColumn   = 75.0 // the issuing organisation; the rest is the motto and date
	bodySize     = 12.0
	lineHeight   = 6.0
)

// renderPDF lays out a revision of the minutes as Vietnamese party minutes:
// the issuing organisation and the Party's name side by side, the title
// "BIÊN BẢN", time, place and attendance, the minutes of each agenda item,
// the closing time and the signature blocks of the minute-taker and chair.
func (s *Service) renderPDF(r *revision, c content) ([]byte, error) {
	regular, err := readFont(s.d.FontDir, fontRegular)
	if err != nil {
		return nil, err
	}
	bold, err := readFont(s.d.FontDir, fontBold)
	if err != nil {
		return nil, err
	}
	h := c.Header
	loc := s.d.Location
	p := fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes(fontFamily, "", regular)
	p.AddUTF8FontFromBytes(fontFamily, "B", bold)
	p.SetMargins(marginLeft, marginTop, marginRight)
	p.SetAutoPageBreak(true, marginBottom)
	p.SetTitle("Biên bản: "+h.MeetingTitle, true)
	p.SetCreator("ecabinet", true)
	// A fixed date keeps the file the same for the same minutes.
	stamp := h.StartsAt
	if !r.ApproveTime.IsZero() {
		stamp = r.ApproveTime
	}
	p.SetCreationDate(stamp)
	p.SetModificationDate(stamp)
	p.SetFooterFunc(func() {
		p.SetY(-marginBottom + 5)
		p.SetFont(fontFamily, "", 8)
		p.CellFormat(0, 5, fmt.Sprintf("Trang %d", p.PageNo()), "", 0, "C", false, 0, "")
	})
	p.AddPage()
	w := pdfWriter{p: p}

	// Top: organisation on the left, the Party's name and the date on the right.
	top := p.GetY()
	p.SetXY(marginLeft, top)
	if h.SuperiorName != "" {
		w.block(marginLeft, leftColumn, "", 11, strings.ToUpper(h.SuperiorName), "C")
	}
	w.block(marginLeft, leftColumn, "B", 11, strings.ToUpper(h.OrganizationName), "C")
	w.block(marginLeft, leftColumn, "", 11, "*", "C")
	w.block(marginLeft, leftColumn, "", 11, "Số:        -BB", "C")
	leftEnd := p.GetY()

	right := marginLeft + leftColumn
	rightWidth := bodyWidth - leftColumn
	p.SetXY(right, top)
	w.block(right, rightWidth, "BU", 12, "ĐẢNG CỘNG SẢN VIỆT NAM", "C")
	p.SetY(p.GetY() + 3)
	w.italic(right, rightWidth, 11, dateLine(s.d.Locality, h.StartsAt.In(loc)), "C")
	p.SetY(max(leftEnd, p.GetY()) + 8)

	// Title.
	w.block(marginLeft, bodyWidth, "B", 15, "BIÊN BẢN", "C")
	w.block(marginLeft, bodyWidth, "B", 13, h.MeetingTitle, "C")
	switch r.State {
	case approved:
	case submitted:
		w.italic(marginLeft, bodyWidth, 10, "(Dự thảo đã trình chủ trì, chưa được duyệt)", "C")
	default:
		w.italic(marginLeft, bodyWidth, 10, "(Dự thảo, chưa được duyệt)", "C")
	}
	if r.Revision > 1 {
		w.block(marginLeft, bodyWidth, "", 10, fmt.Sprintf("Bản sửa đổi lần %d. Lý do sửa đổi: %s", r.Revision-1, r.AmendmentReason), "C")
	}
	p.SetY(p.GetY() + 6)

	// Time, place, chair, minute-taker, attendance.
	starts := h.StartsAt.In(loc)
	w.labelled("Thời gian", fmt.Sprintf("Bắt đầu lúc %s, %s.", clock(starts), dayText(starts)))
	w.labelled("Địa điểm", placeText(h.Place, h.Online)+".")
	w.labelled("Chủ trì", "đồng chí "+orBlank(h.ChairName)+".")
	w.labelled("Thư ký", "đồng chí "+orBlank(h.MinuteTakerName)+".")
	present := len(h.Present) + len(h.PresentOnline)
	attendance := fmt.Sprintf("tổng số %d đồng chí; có mặt %d đồng chí", h.MembersTotal, present)
	if len(h.PresentOnline) > 0 {
		attendance += fmt.Sprintf(" (trong đó %d đồng chí dự trực tuyến)", len(h.PresentOnline))
	}
	attendance += fmt.Sprintf("; vắng mặt %d đồng chí.", len(h.Absent))
	w.labelled("Thành phần", attendance)
	if len(h.Present) > 0 {
		w.bullet("Có mặt: " + strings.Join(h.Present, ", ") + ".")
	}
	if len(h.PresentOnline) > 0 {
		w.bullet("Dự trực tuyến: " + strings.Join(h.PresentOnline, ", ") + ".")
	}
	if len(h.Absent) > 0 {
		names := make([]string, len(h.Absent))
		for i, a := range h.Absent {
			names[i] = a.Name
			if a.Reason != "" {
				names[i] += " (lý do: " + a.Reason + ")"
			} else {
				names[i] += " (không có lý do)"
			}
		}
		w.bullet("Vắng mặt: " + strings.Join(names, "; ") + ".")
	}

	// Body: the agenda items.
	p.SetY(p.GetY() + 4)
	w.block(marginLeft, bodyWidth, "B", bodySize, "NỘI DUNG CUỘC HỌP", "L")
	for i, it := range c.Items {
		p.SetY(p.GetY() + 2)
		title := it.Title
		if title == "" {
			title = "(Nội dung ngoài chương trình)"
		}
		w.block(marginLeft, bodyWidth, "B", bodySize, fmt.Sprintf("%d. %s", i+1, title), "L")
		w.section("Thảo luận", it.Discussion)
		w.section("Ý kiến phát biểu", it.Opinions)
		w.section("Kết luận", it.Conclusions)
		if len(it.Votes) > 0 {
			var lines []string
			for _, v := range it.Votes {
				line := v.Summary
				if v.Title != "" {
					line = v.Title + ": " + v.Summary
				}
				lines = append(lines, "- "+line)
			}
			w.section("Kết quả biểu quyết", strings.Join(lines, "\n"))
		}
		if it.Discussion == "" && it.Opinions == "" && it.Conclusions == "" && len(it.Votes) == 0 {
			w.italic(marginLeft, bodyWidth, 11, "(Chưa có nội dung ghi chép.)", "L")
		}
	}

	// Closing line and signatures stay together: a signature page without
	// a line of the minutes on it could be attached to other minutes.
	const signHeight = 60
	if p.GetY()+signHeight > 297-marginBottom {
		p.AddPage()
	}
	p.SetY(p.GetY() + 4)
	closing := "Cuộc họp kết thúc lúc ...... giờ ...... phút cùng ngày."
	if h.EndsAt != nil {
		ends := h.EndsAt.In(loc)
		if sameDay(starts, ends) {
			closing = fmt.Sprintf("Cuộc họp kết thúc lúc %s cùng ngày.", clock(ends))
		} else {
			closing = fmt.Sprintf("Cuộc họp kết thúc lúc %s, %s.", clock(ends), dayText(ends))
		}
	}
	w.block(marginLeft, bodyWidth, "", bodySize, closing, "L")

	// Signatures: the minute-taker on the left, the chair on the right.
	y := p.GetY() + 8
	half := bodyWidth / 2
	p.SetXY(marginLeft, y)
	w.block(marginLeft, half, "B", bodySize, "THƯ KÝ", "C")
	p.SetXY(marginLeft+half, y)
	w.block(marginLeft+half, half, "B", bodySize, "CHỦ TRÌ", "C")
	y = p.GetY()
	if r.State == approved {
		p.SetXY(marginLeft+half, y)
		w.block(marginLeft+half, half, "B", 10, "Đã duyệt", "C")
		w.italic(marginLeft+half, half, 10, "lúc "+clock(r.ApproveTime.In(loc))+", "+dayText(r.ApproveTime.In(loc)), "C")
	} else {
		p.SetXY(marginLeft, y)
		w.italic(marginLeft, half, 10, "(Ký, ghi rõ họ tên)", "C")
		p.SetXY(marginLeft+half, y)
		w.italic(marginLeft+half, half, 10, "(Ký, ghi rõ họ tên)", "C")
	}
	y += 25
	p.SetXY(marginLeft, y)
	w.block(marginLeft, half, "B", bodySize, h.MinuteTakerName, "C")
	p.SetXY(marginLeft+half, y)
	chair := h.ChairName
	if r.State == approved && r.ApprovedByName != "" {
		chair = r.ApprovedByName
	}
	w.block(marginLeft+half, half, "B", bodySize, chair, "C")
	if r.ContentHash != "" {
		p.SetY(p.GetY() + 6)
		w.block(marginLeft, bodyWidth, "", 7, "Mã kiểm tra nội dung (SHA-256): "+r.ContentHash, "L")
	}

	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		return nil, fmt.Errorf("render minutes PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// pdfWriter holds the small layout helpers.
type pdfWriter struct{ p *fpdf.Fpdf }

// block prints text wrapped in a column of width w starting at x.
func (w pdfWriter) block(x, width float64, style string, size float64, text, align string) {
	w.p.SetFont(fontFamily, style, size)
	w.p.SetX(x)
	w.p.MultiCell(width, size*0.5, printable(text), "", align, false)
}

// italic prints one line slanted: fonts-dejavu-core has no italic face.
func (w pdfWriter) italic(x, width, size float64, text, align string) {
	w.p.SetFont(fontFamily, "", size)
	h := size * 0.5
	y := w.p.GetY()
	w.p.TransformBegin()
	w.p.TransformSkewX(italicDegree, x+width/2, y+h/2)
	w.p.SetXY(x, y)
	w.p.CellFormat(width, h, printable(text), "", 2, align, false, 0, "")
	w.p.TransformEnd()
	w.p.SetXY(x, y+h)
}

// labelled prints "Label: text" as a paragraph.
func (w pdfWriter) labelled(label, text string) {
	w.p.SetX(marginLeft)
	w.p.SetFont(fontFamily, "B", bodySize)
	w.p.Write(lineHeight, label+": ")
	w.p.SetFont(fontFamily, "", bodySize)
	w.p.Write(lineHeight, printable(text))
	w.p.Ln(lineHeight)
}

func (w pdfWriter) bullet(text string) {
	w.block(marginLeft+5, bodyWidth-5, "", bodySize, "- "+text, "L")
}

// section prints a labelled part of an item's minutes, if it has text.
func (w pdfWriter) section(label, text string) {
	if text == "" {
		return
	}
	w.p.SetX(marginLeft)
	w.p.SetFont(fontFamily, "B", bodySize)
	w.p.CellFormat(bodyWidth, lineHeight, label+":", "", 2, "L", false, 0, "")
	w.block(marginLeft, bodyWidth, "", bodySize, text, "L")
}

// printable replaces what the font has no glyph for: tabs become spaces.
func printable(s string) string { return strings.ReplaceAll(s, "\t", "    ") }

func orBlank(s string) string {
	if s == "" {
		return "……………"
	}
	return s
}

func placeText(place string, online bool) string {
	switch {
	case place == "" && online:
		return "trực tuyến"
	case place == "":
		return "……………"
	case online:
		return place + " (kết hợp trực tuyến)"
	}
	return place
}

// clock is "08 giờ 30 phút".
func clock(t time.Time) string { return fmt.Sprintf("%02d giờ %02d phút", t.Hour(), t.Minute()) }

// dayText is "ngày 26 tháng 11 năm 2026". As in Vietnamese administrative
// documents, days below 10 and the months January and February take a
// leading zero.
func dayText(t time.Time) string {
	day := fmt.Sprint(t.Day())
	if t.Day() < 10 {
		day = "0" + day
	}
	month := fmt.Sprint(int(t.Month()))
	if t.Month() < time.March {
		month = "0" + month
	}
	return fmt.Sprintf("ngày %s tháng %s năm %d", day, month, t.Year())
}

// dateLine is the place-and-date line: "Yên Bái, ngày 26 tháng 11 năm 2026".
func dateLine(locality string, t time.Time) string {
	if locality == "" {
		return "N" + strings.TrimPrefix(dayText(t), "n")
	}
	return locality + ", " + dayText(t)
}

func sameDay(a, b time.Time) bool {
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}
