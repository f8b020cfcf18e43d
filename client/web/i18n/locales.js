// The languages of the web client: one line each. Adding a language is adding its file (a copy
// of en.js with every text translated, e.g. de.js) and its line here: its tag (BCP 47, as
// browsers name it in navigator.languages), its name in itself (shown in the language menu), and
// how to load it.

/** @typedef {{tag: string, name: string, load: () => Promise<{default: import('./index.js').Catalog}>}} LocaleInfo */

/** @type {LocaleInfo[]} */
export const LOCALES = [
  { tag: 'en', name: 'English', load: () => import('./en.js') },
  { tag: 'ru', name: 'Русский', load: () => import('./ru.js') },
];
