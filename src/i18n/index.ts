/** Languages: pick one from the launch, translate keys, format numbers and dates. */
export { LANGUAGES, DEFAULT_LANGUAGE, pickLanguage, type Language } from './language';
export { formatNumber, formatPercent, formatDate, type DateFormatOptions } from './format';
export { formatDateTime } from './date-time';
export { formatMessage, listPlaceholders, validateMessage, MessageSyntaxError, type MessageParams } from './message-format';
export { createTranslator, loadMessageCatalogs, MESSAGES_DIR, type Translator, type MessageCatalogs } from './translator';
export { registerHandlebarsHelpers } from './handlebars-helpers';
