/**
 * The mails, in the recipient's language: subject, plain text and a small HTML version, from the
 * message files (`src/i18n/messages/<lang>/mail.json`). Every mail has one link — the thing it is
 * about — so that a recipient never has to guess where to go.
 */
import { createTranslator, pickLanguage, type Language } from '../i18n';
import type { MessageParams } from '../i18n';

/** Every mail the tool sends, by event. */
export const MAIL_TEMPLATES = {
  'certificate.issued': 'certificateIssued',
  'certification.issued': 'certificationIssued',
  'proof.approved': 'proofApproved',
  'proof.rejected': 'proofRejected',
  'proof.arrived': 'proofArrived',
  'expiry.reminder': 'expiryReminder',
} as const;

export type MailTemplate = keyof typeof MAIL_TEMPLATES;

export function isMailTemplate(name: string): name is MailTemplate {
  return Object.hasOwn(MAIL_TEMPLATES, name);
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Renders `template` in `lang`. `params.link` is the one link of the mail; `params.days` (reminders)
 * selects "expires in N days" or "has expired today".
 */
export function renderMail(template: MailTemplate, lang: Language | string, params: MessageParams, toName?: string): RenderedMail {
  const language = pickLanguage(lang);
  const t = createTranslator(language);
  const area = `mail.${MAIL_TEMPLATES[template]}`;
  const p: MessageParams = { ...params, name: toName ?? '' };
  const subject = t(`${area}.subject`, p);
  const greeting = toName ? t('mail.greeting', { name: toName }) : t('mail.greetingNoName');
  const body = t(`${area}.body`, p);
  const action = t(`${area}.action`, p);
  const link = typeof params.link === 'string' ? params.link : '';
  const footer = t('mail.footer');
  // the action on a line of its own and the link below it: no punctuation that differs by language
  const text = [greeting, '', body, '', link ? `${action}\n${link}` : '', '', '-- ', footer].filter((l, i, all) => !(l === '' && all[i - 1] === '')).join('\n');
  const paragraphs = body.split(/\n+/).map((para) => `<p>${escapeHtml(para)}</p>`).join('\n');
  const html = [
    `<!doctype html><html lang="${language}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2328; max-width: 36rem">',
    `<p>${escapeHtml(greeting)}</p>`,
    paragraphs,
    link ? `<p><a href="${escapeHtml(link)}" style="display:inline-block;padding:.5rem 1rem;background:#0b5cad;color:#fff;border-radius:4px;text-decoration:none">${escapeHtml(action)}</a></p>` : '',
    `<p style="color:#57606a;font-size:.875rem">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
