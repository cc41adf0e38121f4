import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

// Vietnamese is the product's language; English is offered beside it. The dictionaries are
// plain objects: at this size a library would add more than it saves.
export type Lang = 'vi' | 'en';
export const LANGS: readonly Lang[] = ['vi', 'en'];

const vi = {
  'app.name': 'ecabinet',
  'app.tagline': 'Phòng họp không giấy',
  'lang.group': 'Ngôn ngữ',
  'health.title': 'Tình trạng hệ thống',
  'health.checking': 'Đang kiểm tra hệ thống…',
  'health.ready': 'Hệ thống sẵn sàng',
  'health.readyDetail': 'Mọi thành phần đều hoạt động tốt.',
  'health.notReady': 'Hệ thống chưa sẵn sàng',
  'health.failingOne': 'Có {n} thành phần đang lỗi.',
  'health.failingMany': 'Có {n} thành phần đang lỗi.',
  'health.unreachable': 'Không kết nối được máy chủ',
  'health.unreachableDetail':
    'Máy tính bảng không liên lạc được với máy chủ ecabinet. Hãy kiểm tra kết nối mạng (Wi‑Fi); nếu vẫn lỗi, báo cho quản trị viên.',
  'health.retrying': 'Sẽ tự thử lại sau 5 giây.',
  'health.lastCheck': 'Kiểm tra lần cuối: {time}',
  'health.lastSuccess': 'Lần kiểm tra thành công gần nhất: {time}',
  'health.never': 'chưa có',
  'health.autoRefresh': 'Tự động cập nhật mỗi 5 giây.',
  'health.checkNow': 'Kiểm tra ngay',
  'health.parts': 'Các thành phần',
  'check.ok': 'Hoạt động tốt',
  'check.failing': 'Đang lỗi',
  'part.meetings': 'Cuộc họp',
  'part.documents': 'Tài liệu',
  'part.voting': 'Biểu quyết',
  'part.video': 'Họp trực tuyến (video)',
  'part.postgres': 'Cơ sở dữ liệu (PostgreSQL)',
  'part.nats': 'Kênh sự kiện (NATS)',
  'part.minio': 'Kho lưu trữ tệp (MinIO)',
  'part.gateway': 'Cổng kết nối (gateway)',
  'live.label': 'Kênh trực tiếp',
  'live.connecting': 'đang kết nối…',
  'live.open': 'đã kết nối',
  'live.waiting': 'mất kết nối, đang thử kết nối lại…',
  'live.unauthorized': 'chưa đăng nhập',
  'live.stopped': 'đã đóng',
} as const;

export type MessageKey = keyof typeof vi;
type Dictionary = Record<MessageKey, string>;

// Typed against the Vietnamese keys, so a message missing in English fails the build.
const en: Dictionary = {
  'app.name': 'ecabinet',
  'app.tagline': 'Paperless meetings',
  'lang.group': 'Language',
  'health.title': 'System health',
  'health.checking': 'Checking the system…',
  'health.ready': 'System ready',
  'health.readyDetail': 'Every part is working.',
  'health.notReady': 'System not ready',
  'health.failingOne': '{n} part is failing.',
  'health.failingMany': '{n} parts are failing.',
  'health.unreachable': 'Cannot reach the server',
  'health.unreachableDetail':
    'This tablet cannot reach the ecabinet server. Check the network (Wi‑Fi); if it keeps failing, tell your administrator.',
  'health.retrying': 'Trying again in 5 seconds.',
  'health.lastCheck': 'Last checked: {time}',
  'health.lastSuccess': 'Last successful check: {time}',
  'health.never': 'none yet',
  'health.autoRefresh': 'Updates every 5 seconds.',
  'health.checkNow': 'Check now',
  'health.parts': 'Parts',
  'check.ok': 'Working',
  'check.failing': 'Failing',
  'part.meetings': 'Meetings',
  'part.documents': 'Documents',
  'part.voting': 'Voting',
  'part.video': 'Video meetings',
  'part.postgres': 'Database (PostgreSQL)',
  'part.nats': 'Event bus (NATS)',
  'part.minio': 'File storage (MinIO)',
  'part.gateway': 'Gateway',
  'live.label': 'Live channel',
  'live.connecting': 'connecting…',
  'live.open': 'connected',
  'live.waiting': 'disconnected, reconnecting…',
  'live.unauthorized': 'not signed in',
  'live.stopped': 'closed',
};

const dictionaries: Record<Lang, Dictionary> = { vi, en };

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  const dict = dictionaries[lang];
  return (key, params) =>
    dict[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
      params && name in params ? String(params[name]) : whole,
    );
}

// BCP 47 tags for Intl formatting (times on the health page).
export function locale(lang: Lang): string {
  return lang === 'vi' ? 'vi-VN' : 'en-GB';
}

const STORAGE_KEY = 'ecabinet.lang';

// Vietnamese unless the user has chosen English on this device. navigator.language is
// deliberately ignored: shared tablets often ship with an English system language.
export function storedLang(): Lang {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'vi';
  } catch {
    return 'vi'; // storage disabled (private mode, policy): fall back quietly
  }
}

export function saveLang(lang: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // The choice then lasts for this page only; nothing else depends on it.
  }
}

export interface I18n {
  lang: Lang;
  t: Translate;
  setLang: (lang: Lang) => void;
}

export const I18nContext = createContext<I18n>({
  lang: 'vi',
  t: translator('vi'),
  setLang: () => {},
});

export function useI18n(): I18n {
  return useContext(I18nContext);
}
