/** Output is how a response body is rendered: the encoding and, for JSON, the form. */
export interface Output {
  encoding: 'json' | 'yaml';
  /** object: the object or list itself; table: meta.k8s.io Table; partial: PartialObjectMetadata(List). */
  as: 'object' | 'table' | 'partial';
  /** The Table/PartialObjectMetadata group version asked for (v1 or v1beta1). */
  metaVersion: 'v1' | 'v1beta1';
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(',')
    .map((part) => {
      const [type = '', ...rest] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"|"$/g, '');
      }
      const q = params.q === undefined ? 1 : Number(params.q);
      return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 };
    })
    .filter((r) => r.type !== '' && r.q > 0);
}

/**
 * negotiate picks the response form from the Accept header, in the client's order of
 * preference: JSON (plain, or `as=Table` / `as=PartialObjectMetadata` of meta.k8s.io v1 or
 * v1beta1) or YAML. Protobuf and other types are skipped, so kubectl's
 * "application/vnd.kubernetes.protobuf,application/json" gets JSON. null: nothing acceptable (406).
 */
export function negotiate(header: string | undefined, { list }: { list: boolean }): Output | null {
  if (!header || header.trim() === '') return { encoding: 'json', as: 'object', metaVersion: 'v1' };
  const ranges = parseAccept(header).sort((a, b) => b.q - a.q);
  for (const r of ranges) {
    const json = r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*';
    const yaml = r.type === 'application/yaml';
    if (!json && !yaml) continue;
    const as = r.params.as;
    if (as === undefined) return { encoding: yaml ? 'yaml' : 'json', as: 'object', metaVersion: 'v1' };
    if (r.params.g !== 'meta.k8s.io' || (r.params.v !== 'v1' && r.params.v !== 'v1beta1')) continue;
    const metaVersion = r.params.v;
    if (as === 'Table') return { encoding: yaml ? 'yaml' : 'json', as: 'table', metaVersion };
    if (as === (list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata')) return { encoding: yaml ? 'yaml' : 'json', as: 'partial', metaVersion };
  }
  return null;
}
