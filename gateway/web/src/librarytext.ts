// The words of the materials library and of the study report, Vietnamese (default) and
// English (see textsection.ts).
import { textSection } from './textsection';

const vi = {
  'library.title': 'Thư viện tài liệu sinh hoạt chi bộ',
  'library.intro': 'Tài liệu cấp trên gửi xuống hằng tháng để các chi bộ nghiên cứu, học tập.',
  'library.none': 'Chưa có tài liệu nào.',
  'library.month': 'Tháng {month}',
  'library.publish': 'Đăng tài liệu cho các chi bộ',
  'library.org': 'Đơn vị đăng (gửi tới mọi đơn vị trực thuộc)',
  'library.period': 'Tháng',
  'library.docTitle': 'Tên tài liệu',
  'library.file': 'Tệp',
  'library.send': 'Đăng',
  'library.sent': 'Đã đăng “{title}”',
  'study.title': 'Tình hình học tập',
  'study.summary': 'Đã học {studied}/{expected} ({share}), đã mở {opened}',
  'study.notYet': 'Chưa học xong',
  'study.none': 'Mọi người đã học xong.',
  'study.byOrg': 'Theo đơn vị',
  'study.org': 'Đơn vị',
  'study.members': 'Số người',
  'study.studied': 'Đã học',
  'study.xlsx': 'Tải báo cáo (Excel)',
  'study.opened': 'đã mở, xem {pages} trang',
  'study.unopened': 'chưa mở',
};

const en: Record<keyof typeof vi, string> = {
  'library.title': 'Cell-meeting materials library',
  'library.intro': 'Materials the committee above sends each month for the cells to study.',
  'library.none': 'No materials yet.',
  'library.month': 'Month {month}',
  'library.publish': 'Publish material for the cells',
  'library.org': 'Publishing organisation (sent to every organisation below it)',
  'library.period': 'Month',
  'library.docTitle': 'Title',
  'library.file': 'File',
  'library.send': 'Publish',
  'library.sent': 'Published “{title}”',
  'study.title': 'Who has studied it',
  'study.summary': 'Studied {studied}/{expected} ({share}), opened {opened}',
  'study.notYet': 'Not studied yet',
  'study.none': 'Everyone has studied it.',
  'study.byOrg': 'By organisation',
  'study.org': 'Organisation',
  'study.members': 'People',
  'study.studied': 'Studied',
  'study.xlsx': 'Download the report (Excel)',
  'study.opened': 'opened, {pages} pages seen',
  'study.unopened': 'not opened',
};

export type LibraryKey = keyof typeof vi;
export const useLibraryText = textSection<LibraryKey>({ vi, en });

/** studied/expected as a percentage with one decimal, e.g. "98,7 %" (Vietnamese) or "98.7 %". */
export function share(studied: number, expected: number, lang: string): string {
  if (expected <= 0) return '0 %';
  const pm = Math.floor((studied * 1000) / expected);
  return `${Math.floor(pm / 10)}${lang === 'vi' ? ',' : '.'}${pm % 10} %`;
}
