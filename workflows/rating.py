"""The satisfaction rating an applicant gives after the result is returned: pure data.

Source of the questions: the criteria a provincial one-stop portal asks each applicant to
rate per dossier, https://dichvucong.thuathienhue.gov.vn/mucdo-hailong/ReqId/6328235d
(criterion 1, "overall", is the `overall` answer; criteria 2-12 are the questions below),
which follows the national index of service quality (Quyết định 766/QĐ-TTg 2022, "Bộ chỉ số
chỉ đạo, điều hành và đánh giá chất lượng phục vụ người dân, doanh nghiệp").
NOT CONFIRMED: that Decision 766's own annex uses exactly these wordings; its text was not
found in the corpus. The texts here are close paraphrases; the English is ours.
"""

from __future__ import annotations

from typing import Any

# (answer code, Vietnamese, English): the three levels of the national index.
ANSWERS: tuple[tuple[str, str, str], ...] = (
    ("very_satisfied", "Rất hài lòng", "Very satisfied"),
    ("satisfied", "Hài lòng", "Satisfied"),
    ("not_satisfied", "Không hài lòng", "Not satisfied"),
)
# (question id, Vietnamese, English)
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("convenience",
     "Mức độ thuận tiện khi sử dụng dịch vụ (dễ sử dụng, thời gian đáp ứng khi giao tiếp, "
     "xử lý dữ liệu)",
     "How convenient the service was to use (ease of use, how fast it responded)"),
    ("on_time",
     "Mức độ đúng hạn trong xử lý, trả kết quả của cơ quan nhà nước",
     "Whether the agency handled the dossier and returned the result on time"),
    ("staff_attitude",
     "Thái độ của cán bộ, công chức, viên chức (nhiệt tình, không nhũng nhiễu, gây phiền hà; "
     "cách giao tiếp khi hướng dẫn, xử lý hồ sơ)",
     "The staff's attitude (helpfulness, no harassment or needless trouble, manner when "
     "guiding you and handling the dossier)"),
    ("time_against_law",
     "Thời gian giải quyết thủ tục hành chính so với thời gian pháp luật cho phép",
     "The time taken compared with the time the law allows"),
    ("time_against_promise",
     "Thời gian thực hiện giải quyết so với thời hạn đã công bố",
     "The time taken compared with the published deadline"),
    ("contacts",
     "Số lần phải liên hệ với nơi tiếp nhận hồ sơ để hoàn thiện hồ sơ",
     "How many times you had to contact the reception desk to complete the dossier"),
    ("agencies",
     "Số cơ quan, đơn vị, tổ chức phải liên hệ để hoàn thiện hồ sơ",
     "How many agencies or organisations you had to contact to complete the dossier"),
    ("one_stop",
     "Việc tiếp nhận, giải quyết, trả kết quả tại Bộ phận Một cửa",
     "Receiving, handling and returning the dossier through the one-stop desk"),
    ("publicity",
     "Mức độ công khai thủ tục hành chính",
     "How openly the procedure is published"),
    ("feedback",
     "Việc tiếp thu, giải trình ý kiến phản ánh, kiến nghị của tổ chức, cá nhân",
     "How comments and complaints are taken up and answered"),
    ("online_service",
     "Tiến độ và chất lượng cung cấp dịch vụ công trực tuyến",
     "The progress and quality of the online public service"),
)
COMMENT_LIMIT = 2000


def _choice(title: str, title_en: str) -> dict[str, Any]:
    return {"type": "string", "enum": [code for code, _, _ in ANSWERS],
            "title": title, "x-title-en": title_en,
            "x-enum-titles": [vi for _, vi, _ in ANSWERS],
            "x-enum-titles-en": [en for _, _, en in ANSWERS]}


# The questions may be left out (an in-person applicant has no view of the online service);
# the overall answer is what the national index counts, so it is required.
RATING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "title": "Đánh giá mức độ hài lòng",
    "x-title-en": "Satisfaction rating",
    "additionalProperties": False,
    "required": ["overall"],
    "properties": {
        **{qid: _choice(vi, en) for qid, vi, en in QUESTIONS},
        "overall": _choice("Đánh giá chung về việc giải quyết hồ sơ",
                           "Overall, how satisfied are you with how your dossier was handled?"),
        "comment": {"type": "string", "maxLength": COMMENT_LIMIT,
                    "title": "Góp ý thêm", "x-title-en": "Other comments",
                    "x-widget": "textarea"},
    },
}
