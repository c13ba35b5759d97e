/**
 * The error codes of src/errors.ts explained in Vietnamese, for the dashboard (bounce reasons,
 * dead letters, error pages). English speakers read the catalogue's own `summary`. The original
 * message of each error, which names the file, field or agency concerned, is shown beside these
 * as detail. A unit test checks that every code of the catalogue has its sentence here.
 */
import type { ErrorCode } from '../../errors.js';

export const VI_ERROR_EXPLANATIONS: Partial<Record<ErrorCode, string>> = {
  // Dữ liệu vào và an toàn XML
  XML_TOO_LARGE: 'Gói tin XML lớn hơn giới hạn cho phép.',
  XML_TOO_DEEP: 'Gói tin XML lồng các phần tử sâu hơn mức cho phép.',
  XML_TOO_MANY_NODES: 'Gói tin XML có quá nhiều nút (phần tử, thuộc tính, văn bản, chú thích).',
  XML_TOO_MANY_COMMENTS: 'Gói tin XML có quá nhiều chú thích hoặc chỉ thị xử lý.',
  XML_COMMENTS_TOO_LARGE: 'Chú thích và chỉ thị xử lý trong gói tin XML quá lớn.',
  XML_CDATA_TOO_LARGE: 'Các đoạn CDATA trong gói tin XML quá lớn.',
  XML_WHITESPACE_TOO_LARGE: 'Gói tin XML có quá nhiều khoảng trắng giữa các phần tử.',
  XML_DOCTYPE: 'Gói tin edXML không được chứa khai báo DOCTYPE.',
  XML_ENTITY: 'Gói tin chứa tham chiếu thực thể (entity) không được phép.',
  XML_ENCODING: 'Chỉ chấp nhận XML mã hóa UTF-8.',
  XML_MALFORMED: 'Nội dung không phải XML hợp lệ (sai cú pháp).',
  XML_NOT_EDXML: 'Nội dung XML không phải gói tin edXML.',
  // Gói tin
  PACKET_INVALID: 'Gói tin không đúng quy định của edXML.',
  PACKET_SECRET: 'Văn bản có dấu chỉ mức độ mật không được gửi qua hệ thống này.',
  MALWARE_FOUND: 'Tệp đính kèm chứa mã độc.',
  SCAN_FAILED: 'Không quét được mã độc trong tệp đính kèm.',
  ZIP_INVALID: 'Tệp nén zip bị hỏng hoặc không đúng định dạng.',
  ZIP_UNSUPPORTED: 'Tệp nén zip dùng tính năng không được hỗ trợ (mật khẩu, kiểu nén khác deflate, ZIP64, nhiều phần).',
  ZIP_UNSAFE: 'Tệp nén zip bị từ chối vì nguy hiểm (bom zip, tên tệp ra ngoài thư mục, vượt giới hạn).',
  // Chữ ký số và chứng thư số
  SIG_MISSING: 'Gói tin không có chữ ký số.',
  SIG_MULTIPLE: 'Gói tin có nhiều hơn một chữ ký số.',
  SIG_MISPLACED: 'Chữ ký số không nằm ở vị trí mà chuẩn edXML quy định.',
  SIG_MALFORMED: 'Phần tử chữ ký số bị sai cấu trúc.',
  SIG_REFERENCE: 'Chữ ký số phải có đúng một Reference với URI="".',
  SIG_ALGORITHM: 'Chữ ký số dùng thuật toán không được phép.',
  SIG_DIGEST_MISMATCH: 'Nội dung đã bị thay đổi sau khi ký.',
  TRACE_FORGED: 'Gói tin có TraceHeader được thêm vào sau khi ký.',
  SIG_VALUE_INVALID: 'Giá trị chữ ký không khớp với khóa của người ký.',
  CERT_MISSING: 'Chữ ký số không kèm chứng thư số của người ký.',
  CERT_MALFORMED: 'Không đọc được chứng thư số.',
  CERT_UNTRUSTED: 'Chứng thư số của người ký không thuộc chuỗi tin cậy.',
  CERT_EXPIRED: 'Chứng thư số không còn hiệu lực tại thời điểm ký.',
  CERT_REVOKED: 'Chứng thư số của người ký đã bị thu hồi.',
  CERT_USAGE: 'Chứng thư số không được dùng cho mục đích này.',
  CRL_INVALID: 'Danh sách chứng thư thu hồi (CRL) không dùng được.',
  REVOCATION_UNKNOWN: 'Không xác định được chứng thư số có bị thu hồi hay không, trong khi chính sách yêu cầu điều đó.',
  CERT_ORGAN_MISMATCH: 'Chứng thư số của người ký không thuộc cơ quan gửi.',
  KEY_INVALID: 'Không dùng được khóa bí mật.',
  // Trạng thái
  STATUS_ILLEGAL_TRANSITION: 'Không được chuyển sang trạng thái này từ trạng thái hiện tại.',
  // Liên thông: định tuyến, danh bạ, định danh
  SENDER_MISMATCH: 'Gói tin khai là của một cơ quan khác với cơ quan đã gửi nó lên trục.',
  SENDER_UNKNOWN: 'Tài khoản RabbitMQ đã gửi gói tin không thuộc cơ quan nào đã đăng ký với trục, nên trục không biết gói tin của ai và không trả lời được.',
  AGENCY_UNKNOWN: 'Cơ quan nhận chưa kết nối với trục liên thông (không có trong danh bạ); cần gửi bản giấy.',
  AGENCY_SUSPENDED: 'Cơ quan đang bị tạm ngừng trên trục liên thông; cần gửi bản giấy.',
  AGENCY_EXISTS: 'Cơ quan đã được đăng ký.',
  AGENCY_NOT_EMPTY: 'Cơ quan vẫn còn gói tin chưa chuyển.',
  DOCUMENT_UNKNOWN: 'Không có văn bản này.',
  DOCUMENT_DUPLICATE: 'Văn bản với mã định danh này đã được gửi trước đó.',
  DOCUMENT_NOT_OWNED: 'Văn bản mang mã định danh của cơ quan khác, hoặc sửa đổi, thay thế, thu hồi văn bản do cơ quan khác gửi.',
  PACKET_ID_CONFLICT: 'Một gói tin khác đã được nhận với cùng mã gói tin.',
  NOT_RECIPIENT: 'Cơ quan không phải là bên gửi hay bên nhận của văn bản này.',
  // Máy chủ RabbitMQ
  BROKER_UNREACHABLE: 'Không kết nối được máy chủ RabbitMQ.',
  BROKER_MANAGEMENT: 'API quản trị của RabbitMQ từ chối hoặc không thực hiện được yêu cầu.',
  BROKER_PUBLISH: 'Máy chủ RabbitMQ không xác nhận đã nhận gói tin.',
  BROKER_QUEUE_FULL: 'Hàng đợi nhận đã đầy; gói tin được giữ lại và sẽ gửi lại sau.',
  WORKER_OUT_OF_MEMORY: 'Xử lý dữ liệu này cần nhiều bộ nhớ hơn mức cho phép.',
  // Giao diện, cấu hình, người dùng
  CONFIG_INVALID: 'Cấu hình không dùng được.',
  AUTH_REQUIRED: 'Cần khóa API hợp lệ.',
  LOGIN_REQUIRED: 'Cần đăng nhập trước.',
  FORBIDDEN: 'Vai trò của bạn không được phép thực hiện thao tác này.',
  USER_EXISTS: 'Đã có người dùng với tên này.',
  USER_LAST_OPERATOR: 'Không thể xóa cán bộ vận hành cuối cùng.',
  AUDIT_CHAIN_BROKEN: 'Nhật ký kiểm toán đã bị thay đổi sau khi ghi.',
  EVIDENCE_INVALID: 'Tệp chứng cứ không đầy đủ hoặc đã bị thay đổi.',
  DEAD_LETTER_RESOLVED: 'Gói tin lỗi này đã được phát lại hoặc hủy trước đó.',
  REQUEST_TOO_LARGE: 'Yêu cầu gửi lên quá lớn.',
  UNSUPPORTED_MEDIA_TYPE: 'Kiểu nội dung của yêu cầu không được chấp nhận.',
  RATE_LIMITED: 'Gửi quá nhiều yêu cầu trong thời gian ngắn; vui lòng thử lại sau.',
  NOT_FOUND: 'Không tìm thấy.',
  // Chung
  USAGE: 'Lệnh hoặc yêu cầu chưa đúng cách dùng.',
  IO: 'Không đọc hoặc ghi được tệp.',
  INTERNAL: 'Lỗi nội bộ ngoài dự kiến.',
};
