/** E-mail: the outbox (record an event with enqueueMail), its delivery job, reminders, templates. */
export { enqueueMail, deliverDue, messageIdOf, type MailInput, type EnqueueResult, type MailTransport } from './outbox';
export { outboxModel, type OutboxDoc, type OutboxStatus } from './outbox.model';
export { rememberRecipient, findRecipient, recipientModel } from './recipients';
export { renderMail, MAIL_TEMPLATES, type MailTemplate } from './templates';
export { createMailService, MAIL_DELIVER_JOB, type MailService, type MailStatus } from './mail.service';
export { createSmtpTransport, describeSmtpUrl } from './transport';
export { scanReminders, currentReminder, type ReminderSource, type ReminderCandidate } from './reminders';
export { notifyCertificatesIssued } from './certificate-mail';
export { mailAwardsIssued, awardReminders } from './award-mail';
