// Dictionaries of one part of the app (the reader, voting, …) beside the shared ones in
// i18n.ts, so a part can grow without every change touching the one file all pages share.
// The language is the app's (useI18n); a part's English must have every Vietnamese key.
import { useMemo } from 'preact/hooks';
import { useI18n, type Lang } from './i18n';

export type SectionTranslate<K extends string> = (key: K, params?: Record<string, string | number>) => string;

/** A hook giving the part's translator in the app's language. */
export function textSection<K extends string>(dictionaries: Record<Lang, Record<K, string>>): () => { tt: SectionTranslate<K>; lang: Lang } {
  const translators = {} as Record<Lang, SectionTranslate<K>>;
  for (const lang of Object.keys(dictionaries) as Lang[]) {
    const dict = dictionaries[lang];
    translators[lang] = (key, params) =>
      dict[key].replace(/\{(\w+)\}/g, (whole, name: string) => (params && name in params ? String(params[name]) : whole));
  }
  return function useText() {
    const { lang } = useI18n();
    return useMemo(() => ({ tt: translators[lang], lang }), [lang]);
  };
}
