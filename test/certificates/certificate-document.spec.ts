import { expect } from 'chai';
import { Types } from 'mongoose';
import { certificateDocumentOf } from '../../src/certificates/certificate-document';
import type { IssueDoc } from '../../src/certificates/issue.model';
import { validateDocument } from '../../src/render/certificate-document';

function issue(overrides: Partial<IssueDoc> = {}): IssueDoc {
  return {
    _id: new Types.ObjectId(),
    courseId: new Types.ObjectId(),
    definitionId: new Types.ObjectId(),
    definitionVersion: 3,
    userId: 'u1',
    learnerName: 'Bilbo Baggins',
    courseTitle: 'There and Back Again',
    title: 'Certificate of Achievement',
    issuerName: 'University of Rivendell',
    scorePercent: 84.99999999999999,
    evaluation: { scorePercent: 85, gradedPercent: 85, thresholdPercent: 80, requireAllGraded: true, gradedCount: 1, itemCount: 1, items: [], notices: [], eligible: true },
    fingerprint: 'x',
    template: { design: 'modern', paper: 'Letter', orientation: 'portrait', language: 'auto', accentColor: '#aa3300', showScore: true, signatoryName: 'Elrond' },
    validity: { kind: 'recurring', validForMonths: 12 },
    issuedAt: new Date('2025-05-03T10:00:00Z'),
    expiresAt: new Date('2026-05-03T10:00:00Z'),
    issuedBy: { kind: 'learner', userId: 'u1' },
    code: '7KQ2-M9XD-4HNC-PW3T',
    version: 2,
    status: 'active',
    ...overrides,
  };
}

const opts = { verificationUrl: 'https://tool.example/verify/7KQ2-M9XD-4HNC-PW3T', viewerLanguage: 'nl' as const, now: new Date('2025-06-01T00:00:00Z') };

describe('certificateDocumentOf', () => {
  it('renders what the certificate recorded, in the viewer\'s language when the template says auto', () => {
    const doc = certificateDocumentOf(issue(), opts);
    expect(doc).to.include({ design: 'modern', paper: 'Letter', orientation: 'portrait', language: 'nl', learnerName: 'Bilbo Baggins', scorePercent: 85, watermark: null, signatoryName: 'Elrond' });
    expect(() => validateDocument(doc)).to.not.throw();
  });

  it('leaves the score out when the template hides it, and keeps a fixed language', () => {
    const doc = certificateDocumentOf(issue({ template: { ...issue().template, showScore: false, language: 'en' } }), opts);
    expect(doc).to.include({ scorePercent: null, language: 'en' });
  });

  it('marks a certificate that is no longer valid', () => {
    expect(certificateDocumentOf(issue({ status: 'revoked' }), opts).watermark).to.equal('revoked');
    expect(certificateDocumentOf(issue({ status: 'superseded' }), opts).watermark).to.equal('superseded');
    expect(certificateDocumentOf(issue(), { ...opts, now: new Date('2026-05-04T00:00:00Z') }).watermark).to.equal('expired');
  });
});
