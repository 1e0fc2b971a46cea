/**
 * The JSON-LD / Data Integrity libraries, loaded on first use rather than at start: together
 * they take about half a second to load, which every start (and every instance a supervisor
 * restarts) would otherwise pay before the first credential is asked for.
 */
export interface CredentialLibs {
  vc: typeof import('@digitalbazaar/vc');
  DataIntegrityProof: new (o: Record<string, unknown>) => unknown;
  eddsaRdfc2022: { canonize(doc: unknown, o: unknown): Promise<string> } & Record<string, unknown>;
  Ed25519Multikey: typeof import('@digitalbazaar/ed25519-multikey');
  BitstringStatusList: new (o: { length: number }) => { setStatus(i: number, v: boolean): void; encode(): Promise<string> };
}

let loading: Promise<CredentialLibs> | undefined;

export function credentialLibs(): Promise<CredentialLibs> {
  loading ??= (async () => {
    const [vc, di, eddsa, multikey, bsl] = await Promise.all([
      import('@digitalbazaar/vc'),
      import('@digitalbazaar/data-integrity'),
      import('@digitalbazaar/eddsa-rdfc-2022-cryptosuite'),
      import('@digitalbazaar/ed25519-multikey'),
      import('@digitalbazaar/vc-bitstring-status-list'),
    ]);
    return { vc, DataIntegrityProof: di.DataIntegrityProof, eddsaRdfc2022: eddsa.cryptosuite, Ed25519Multikey: multikey, BitstringStatusList: bsl.BitstringStatusList };
  })();
  return loading;
}
