package problem

import (
	"regexp"
	"strings"
)

// fieldReasons holds, per language, the text for each stable reason code the
// services put in BadRequest field violations (services/platform/rpcerr and
// the domain packages' Reason* constants). "{n}" is replaced by the limit
// the service's English description states ("must be at most 200
// characters"), or the phrase falls back to the one without a number.
var fieldReasons = map[string]map[string]string{
	"vi": {
		"REQUIRED":               "Không được để trống",
		"TOO_LONG":               "Quá dài",
		"TOO_LONG#n":             "Không được dài quá {n} ký tự",
		"TOO_SHORT":              "Quá ngắn",
		"TOO_SHORT#n":            "Phải có ít nhất {n} ký tự",
		"INVALID_FORMAT":         "Sai định dạng",
		"UNKNOWN_VALUE":          "Giá trị không được hỗ trợ",
		"INVALID_CHARACTER":      "Chứa ký tự không hợp lệ (ví dụ: xuống dòng)",
		"INVALID_TIMESTAMP":      "Thời gian không hợp lệ",
		"OUT_OF_ORDER":           "Thời điểm kết thúc phải sau thời điểm bắt đầu",
		"OUT_OF_RANGE":           "Giá trị nằm ngoài phạm vi cho phép",
		"MISMATCH":               "Không khớp với dữ liệu hiện có",
		"TOO_FEW":                "Chưa đủ số lượng tối thiểu",
		"TOO_FEW#n":              "Cần ít nhất {n}",
		"TOO_MANY":               "Vượt quá số lượng cho phép",
		"TOO_MANY#n":             "Không được quá {n}",
		"DUPLICATE":              "Bị trùng lặp",
		"NOT_FOUND":              "Không tìm thấy",
		"INVALID_DATE":           "Ngày không hợp lệ (định dạng YYYY-MM-DD)",
		"NOT_ALLOWED":            "Không được phép",
		"SAME_AS_USERNAME":       "Không được trùng với tên đăng nhập",
		"INCORRECT":              "Không đúng",
		"NOT_PARTICIPANT":        "Không phải là thành phần tham dự cuộc họp",
		"ALREADY_PARTICIPANT":    "Đã có trong danh sách tham dự",
		"TOKEN_INVALID":          "Mã điểm danh không hợp lệ",
		"TOKEN_EXPIRED":          "Mã điểm danh đã hết hạn, vui lòng quét lại mã mới",
		"TOKEN_OTHER_MEETING":    "Mã điểm danh thuộc cuộc họp khác",
		"NOT_IN_MEETING":         "Không thuộc chương trình cuộc họp",
		"EMPTY_FILE":             "Tệp rỗng",
		"FILE_TOO_LARGE":         "Tệp quá lớn",
		"INCOMPLETE_FILE":        "Tệp chưa gửi hết",
		"UNSUPPORTED_MEDIA_TYPE": "Loại tệp không được hỗ trợ (chỉ nhận PDF, Word, Excel, PowerPoint, ảnh, âm thanh, video)",
		"NO_VOTING_RIGHT":        "Không có quyền biểu quyết",
		"SELF":                   "Không thể ủy quyền cho chính mình",
		"IS_DELEGATE":            "Người này đang được ủy quyền nên không thể ủy quyền tiếp",
		"DELEGATING":             "Người này đã ủy quyền cho người khác",
		"ALREADY_DELEGATE":       "Người này đã nhận ủy quyền của một người khác",
	},
	"en": {
		"REQUIRED":               "Must not be empty",
		"TOO_LONG":               "Too long",
		"TOO_LONG#n":             "Must be at most {n} characters",
		"TOO_SHORT":              "Too short",
		"TOO_SHORT#n":            "Must be at least {n} characters",
		"INVALID_FORMAT":         "Invalid format",
		"UNKNOWN_VALUE":          "Unsupported value",
		"INVALID_CHARACTER":      "Contains characters that are not allowed (such as line breaks)",
		"INVALID_TIMESTAMP":      "Invalid time",
		"OUT_OF_ORDER":           "The end must be after the start",
		"OUT_OF_RANGE":           "Out of the allowed range",
		"MISMATCH":               "Does not match the existing data",
		"TOO_FEW":                "Too few",
		"TOO_FEW#n":              "Needs at least {n}",
		"TOO_MANY":               "Too many",
		"TOO_MANY#n":             "At most {n} allowed",
		"DUPLICATE":              "Duplicated",
		"NOT_FOUND":              "Not found",
		"INVALID_DATE":           "Invalid date (format YYYY-MM-DD)",
		"NOT_ALLOWED":            "Not allowed",
		"SAME_AS_USERNAME":       "Must not be the username",
		"INCORRECT":              "Incorrect",
		"NOT_PARTICIPANT":        "Is not a participant of the meeting",
		"ALREADY_PARTICIPANT":    "Is already a participant",
		"TOKEN_INVALID":          "Invalid check-in code",
		"TOKEN_EXPIRED":          "The check-in code has expired; scan the new one",
		"TOKEN_OTHER_MEETING":    "The check-in code belongs to another meeting",
		"NOT_IN_MEETING":         "Is not on the meeting's agenda",
		"EMPTY_FILE":             "The file is empty",
		"FILE_TOO_LARGE":         "The file is too large",
		"INCOMPLETE_FILE":        "The file did not arrive whole",
		"UNSUPPORTED_MEDIA_TYPE": "This kind of file is not accepted (PDF, Word, Excel, PowerPoint, images, audio and video are)",
		"NO_VOTING_RIGHT":        "Has no right to vote",
		"SELF":                   "Cannot delegate to oneself",
		"IS_DELEGATE":            "Is a delegate and cannot delegate in turn",
		"DELEGATING":             "Has delegated to someone else",
		"ALREADY_DELEGATE":       "Is already someone else's delegate",
	},
}

// firstNumber finds the limit in a description such as "must be at most 200
// characters, got 250" (the limit comes first in every service's wording).
var firstNumber = regexp.MustCompile(`\d+`)

// FieldReason is the text shown for one invalid field: the translation of
// code in lang, or, for a code this gateway does not know yet, the service's
// own (English) description, so a new code is never shown as a bare code.
func FieldReason(lang, code, description string) string {
	texts, ok := fieldReasons[lang]
	if !ok {
		texts = fieldReasons["vi"]
	}
	if t, ok := texts[code+"#n"]; ok {
		if n := firstNumber.FindString(description); n != "" {
			return strings.ReplaceAll(t, "{n}", n)
		}
	}
	if t, ok := texts[code]; ok {
		return t
	}
	if description != "" {
		return description
	}
	return code
}
