/**
 * A column label the tool wrote (src/grades/column-label.ts) shown in the viewer's language: the
 * message reference on a column or item, and the same folded into a reason's flat parameters.
 * Pure: src/certificates/evaluate.ts uses it.
 */
import type { MessageRef } from '../errors';

/** The label a person reads: the translated one for a column the tool labelled, else the stored label. */
export function columnLabel(c: { label: string; labelRef?: MessageRef }, t: (key: string, params?: Record<string, string | number>) => string): string {
  return c.labelRef ? t(c.labelRef.key, c.labelRef.params) : c.label;
}

/**
 * The same reference folded into a reason's flat parameters (src/certificates/evaluate.ts keeps
 * `label` English for logs): `labelKey` and each parameter as `label_<name>`.
 */
export function labelRefParams(ref: MessageRef | undefined): Record<string, string> {
  if (!ref) return {};
  return { labelKey: ref.key, ...Object.fromEntries(Object.entries(ref.params ?? {}).map(([k, v]) => [`label_${k}`, String(v)])) };
}

/** A reason's parameters with `label` in the viewer's language, when the tool wrote the label. */
export function translatedLabelParams<P extends Record<string, string | number | null>>(params: P, t: (key: string, params?: Record<string, string | number>) => string): P {
  if (typeof params.labelKey !== 'string') return params;
  const inner: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(params)) if (k.startsWith('label_') && v !== null) inner[k.slice('label_'.length)] = v;
  return { ...params, label: t(params.labelKey, inner) } as P;
}
