/** Open Badges 3.0 credentials: signing, keys, status lists, baking (see each file). */
export { certificateSource, type CredentialSource } from './credential-source';
export { credentialFor, credentialByCode, credentialRevoked, issuerProfile, ownResolver, signedStatusList, type CredentialDeps, type SignedCredential } from './credential.service';
export { allKeys, currentKey, keyDocument, rotateKey } from './keys.service';
export { bake, unbake } from './bake';
export { badgePng } from './badge-image';
export { credentialUrls, type CredentialUrls } from './urls';
export { holderChoice, nameKey, sameName, setHolderChoice, showsName } from './holder-choice.service';
export { revokeCredentials } from './status-bits';
export { linkedInAddToProfileUrl } from './linkedin';
