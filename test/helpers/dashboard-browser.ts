/**
 * What the dashboard's browser tests share: Debian's Chromium as playwright-core launches it,
 * and the check that a Vietnamese page shows no English (the words of the English catalogue
 * that the Vietnamese one does not use too), outside what is marked as another language, an
 * identifier, or a name from the configuration.
 */
import type { Page } from 'playwright-core';
import { en } from '../../src/dashboard/i18n/en.js';
import { vi } from '../../src/dashboard/i18n/vi.js';

export const CHROMIUM = process.env.LT_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Words (3+ letters) of the English catalogue that the Vietnamese one does not use as well (RabbitMQ, API, CSV...). */
function englishWords(): Set<string> {
  const words = (texts: string[]): string[] => texts.flatMap((text) => text.replace(/\{\w+\}/g, ' ').match(/[A-Za-z]{3,}/g) ?? []).map((w) => w.toLowerCase());
  const vietnamese = new Set(words(Object.values(vi)));
  return new Set(words(Object.values(en)).filter((w) => !vietnamese.has(w)));
}
export const ENGLISH = englishWords();

/**
 * The text a person sees on the page, without what is declared another language or no language
 * to translate: [lang] other than vi (an error's original English, the raw bytes of a packet),
 * identifiers (.id: queue names, packet and document ids) and [translate="no"] (configured names).
 */
export async function visibleText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const out: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || parent.closest('script, style, .id, [translate="no"], [lang]:not([lang="vi"])')) continue;
      if (!parent.checkVisibility()) continue;
      out.push(node.textContent ?? '');
    }
    return out.join(' ');
  });
}

/** The English words the current page shows (none, on a Vietnamese page). */
export async function englishOn(page: Page): Promise<string[]> {
  return [...new Set((await visibleText(page)).match(/[A-Za-z]{3,}/g) ?? [])].filter((w) => ENGLISH.has(w.toLowerCase()));
}
