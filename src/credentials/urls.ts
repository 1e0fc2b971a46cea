/**
 * The stable public URLs of src/credentials (documented in the README). They are part of every
 * signed credential, so they never change shape.
 */
export interface CredentialUrls {
  issuer: string;
  key(keyId: string): string;
  statusList(list: number): string;
  credential(code: string): string;
  verify(code: string): string;
}

export function credentialUrls(publicUrl: string): CredentialUrls {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    issuer: `${base}/issuer`,
    key: (keyId) => `${base}/issuer/keys/${keyId}`,
    statusList: (list) => `${base}/credentials/status/${list}`,
    credential: (code) => `${base}/credentials/${code}`,
    verify: (code) => `${base}/verify/${code}`,
  };
}
