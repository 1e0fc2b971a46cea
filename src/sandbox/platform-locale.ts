/**
 * What each imitated platform writes in `launch_presentation.locale` for a sandbox user whose
 * language is stored as a BCP 47 tag ("nl-NL", "es-MX", "en-GB").
 *
 * - **Moodle 4.5**: its language *pack code* — `launch_presentation_locale = current_language()`
 *   (mod/lti/locallib.php `lti_get_launch_data()`; lib/moodlelib.php `current_language()` is the
 *   user's preferred language when no course or activity forces one). Pack codes are lower case,
 *   with an underscore, and carry a region only where Moodle ships a regional pack ("es_mx",
 *   "pt_br"); Dutch is the pack "nl" whatever the country. Observed on a real 4.5.6
 *   (test/real-lms/drive-languages.sh): "nl", "de", "es_mx", "zh_cn", "en".
 * - **Chamilo 1.11**: the `isocode` of the user's language in its `language` table —
 *   `'locale' => api_get_language_isocode($user->getLanguage())` (plugin/ims_lti/auth.php;
 *   main/inc/lib/internationalization.lib.php). Two letters, except "pt-BR" and "zh-TW" (the table
 *   1.11.28 installs). Observed on a real 1.11.28: "nl", "de", "fr", "es", "el", "en".
 * - **Canvas and the standard mode**: the tag as stored.
 */
import type { QuirkProfile } from './quirks';

/** Moodle's regional language packs among the languages a sandbox user may have (download.moodle.org/langpack/4.5). */
const MOODLE_REGIONAL_PACKS = new Set(['en_us', 'es_mx', 'fr_ca', 'pt_br', 'zh_cn', 'zh_tw', 'de_ch']);
/** The regional ISO codes of Chamilo 1.11.28's `language` table (main/install/data.sql). */
const CHAMILO_REGIONAL_CODES = new Set(['pt-BR', 'zh-TW']);

export function platformLocale(style: QuirkProfile['launchLocale'], locale: string | undefined): string | undefined {
  if (!locale || style === 'bcp47') return locale;
  const [language = '', region = ''] = locale.trim().split(/[-_]/);
  const primary = language.toLowerCase();
  if (style === 'moodle') {
    const pack = `${primary}_${region.toLowerCase()}`;
    return MOODLE_REGIONAL_PACKS.has(pack) ? pack : primary;
  }
  const iso = `${primary}-${region.toUpperCase()}`;
  return CHAMILO_REGIONAL_CODES.has(iso) ? iso : primary;
}
