import { fail, ok, type Result } from '../result.js';
import type { Obj } from './json.js';

/**
 * Decoding of the Kubernetes protobuf encoding (application/vnd.kubernetes.protobuf) for the two
 * kinds kubectl 1.32 and later sends that way: `kubectl create namespace` and `kubectl create
 * service ...` use typed clients, which POST protobuf and do not fall back to JSON. The envelope
 * is "k8s\0" + runtime.Unknown{typeMeta=1{apiVersion=1, kind=2}, raw=2, contentEncoding=3,
 * contentType=4}; field numbers come from k8s.io/api core/v1 generated.proto (checked against
 * what kubectl 1.33 sends). A field this table does not know is refused, never dropped.
 */

type Field =
  | { name: string; type: 'string' | 'int' | 'bool' }
  | { name: string; type: 'strings' }
  | { name: string; type: 'map' }
  | { name: string; type: 'message'; of: Schema; repeated?: boolean }
  | { name: string; type: 'time' | 'intOrString' }
  | { name: string; type: 'skip' };
interface Schema {
  [field: number]: Field;
}

const OWNER_REF: Schema = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};
const OBJECT_META: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  4: { name: 'selfLink', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  11: { name: 'labels', type: 'map' },
  12: { name: 'annotations', type: 'map' },
  13: { name: 'ownerReferences', type: 'message', of: OWNER_REF, repeated: true },
  14: { name: 'finalizers', type: 'strings' },
};
const SERVICE_PORT: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'protocol', type: 'string' },
  3: { name: 'port', type: 'int' },
  4: { name: 'targetPort', type: 'intOrString' },
  5: { name: 'nodePort', type: 'int' },
  6: { name: 'appProtocol', type: 'string' },
};
const SERVICE_SPEC: Schema = {
  1: { name: 'ports', type: 'message', of: SERVICE_PORT, repeated: true },
  2: { name: 'selector', type: 'map' },
  3: { name: 'clusterIP', type: 'string' },
  4: { name: 'type', type: 'string' },
  5: { name: 'externalIPs', type: 'strings' },
  7: { name: 'sessionAffinity', type: 'string' },
  8: { name: 'loadBalancerIP', type: 'string' },
  9: { name: 'loadBalancerSourceRanges', type: 'strings' },
  10: { name: 'externalName', type: 'string' },
  11: { name: 'externalTrafficPolicy', type: 'string' },
  12: { name: 'healthCheckNodePort', type: 'int' },
  13: { name: 'publishNotReadyAddresses', type: 'bool' },
};
const LOAD_BALANCER_STATUS: Schema = {};
const SCHEMAS: Record<string, Schema> = {
  'v1/Service': {
    1: { name: 'metadata', type: 'message', of: OBJECT_META },
    2: { name: 'spec', type: 'message', of: SERVICE_SPEC },
    3: { name: 'status', type: 'message', of: { 1: { name: 'loadBalancer', type: 'message', of: LOAD_BALANCER_STATUS } } },
  },
  'v1/Namespace': {
    1: { name: 'metadata', type: 'message', of: OBJECT_META },
    2: { name: 'spec', type: 'message', of: { 1: { name: 'finalizers', type: 'strings' } } },
    3: { name: 'status', type: 'message', of: { 1: { name: 'phase', type: 'string' } } },
  },
};

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}
  varint(): bigint {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end || shift > 63n) throw new DecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      r |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return r;
    }
  }
  bytes(): Uint8Array {
    const len = Number(this.varint());
    if (len < 0 || this.pos + len > this.end) throw new DecodeError('a field runs past the end of its message');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

class DecodeError extends Error {}

const text = new TextDecoder('utf-8', { fatal: true });
const toInt = (v: bigint) => Number(BigInt.asIntN(64, v));

function decodeMessage(buf: Uint8Array, schema: Schema, path: string): Obj {
  const r = new Reader(buf);
  const out: Obj = {};
  while (r.pos < r.end) {
    const key = r.varint();
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    const f = schema[num];
    if (!f) throw new DecodeError(`${path || 'object'}: field ${num} is not supported in protobuf; send the object as JSON or YAML`);
    if (wire === 0) {
      const v = r.varint();
      if (f.type === 'int') {
        if (v !== 0n) out[f.name] = toInt(v);
      } else if (f.type === 'bool') {
        if (v !== 0n) out[f.name] = true;
      } else throw new DecodeError(`${path}.${f.name}: unexpected varint`);
      continue;
    }
    if (wire !== 2) throw new DecodeError(`${path}.${f.name}: unsupported wire type ${wire}`);
    const bytes = r.bytes();
    const at = path ? `${path}.${f.name}` : f.name;
    switch (f.type) {
      case 'string': {
        const s = text.decode(bytes);
        if (s !== '') out[f.name] = s;
        break;
      }
      case 'strings': {
        const list = Array.isArray(out[f.name]) ? (out[f.name] as string[]) : [];
        list.push(text.decode(bytes));
        out[f.name] = list;
        break;
      }
      case 'skip':
        break;
      case 'map': {
        const entry = decodeMessage(bytes, { 1: { name: 'key', type: 'string' }, 2: { name: 'value', type: 'string' } }, at);
        const m = (out[f.name] as Record<string, string> | undefined) ?? {};
        m[String(entry.key ?? '')] = String(entry.value ?? '');
        out[f.name] = m;
        break;
      }
      case 'time': {
        const t = decodeMessage(bytes, { 1: { name: 'seconds', type: 'int' }, 2: { name: 'nanos', type: 'int' } }, at);
        if (typeof t.seconds === 'number' && t.seconds !== 0) out[f.name] = new Date(t.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        break;
      }
      case 'intOrString': {
        const v = decodeMessage(bytes, { 1: { name: 'type', type: 'int' }, 2: { name: 'intVal', type: 'int' }, 3: { name: 'strVal', type: 'string' } }, at);
        const value = v.type === 1 ? v.strVal : v.intVal;
        if (value !== undefined && value !== 0 && value !== '') out[f.name] = value;
        break;
      }
      case 'message': {
        const m = decodeMessage(bytes, f.of, at);
        if (!f.repeated) out[f.name] = m;
        else if (Array.isArray(out[f.name])) (out[f.name] as Obj[]).push(m);
        else out[f.name] = [m];
        break;
      }
      default:
        throw new DecodeError(`${at}: unexpected length-delimited field`);
    }
  }
  return out;
}

/** isKubeProtobuf tells whether a body starts with the Kubernetes protobuf magic "k8s\0". */
export function isKubeProtobuf(buf: Uint8Array): boolean {
  return MAGIC.every((b, i) => buf[i] === b);
}

/**
 * decodeKubeProtobuf turns a Kubernetes protobuf body into the object's JSON form, or says why it
 * cannot (a kind or field not known here: the client can send JSON instead).
 */
export function decodeKubeProtobuf(buf: Uint8Array): Result<Obj, string> {
  if (!isKubeProtobuf(buf)) return fail('not a Kubernetes protobuf message (no "k8s\\0" prefix)');
  try {
    const env = decodeMessage(buf.subarray(4), {
      1: { name: 'typeMeta', type: 'message', of: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } },
      2: { name: 'raw', type: 'skip' },
      3: { name: 'contentEncoding', type: 'string' },
      4: { name: 'contentType', type: 'string' },
    }, '');
    const raw = rawField(buf.subarray(4));
    const tm = (env.typeMeta ?? {}) as Obj;
    const apiVersion = String(tm.apiVersion ?? '');
    const kind = String(tm.kind ?? '');
    if (env.contentEncoding) return fail(`protobuf content encoding ${String(env.contentEncoding)} is not supported`);
    const schema = SCHEMAS[`${apiVersion}/${kind}`];
    if (!schema) return fail(`${apiVersion} ${kind} is not supported in protobuf; send it as JSON or YAML`);
    return ok({ apiVersion, kind, ...decodeMessage(raw, schema, '') });
  } catch (err) {
    if (err instanceof DecodeError || err instanceof TypeError) return fail(`cannot decode the protobuf body: ${err.message}`);
    throw err;
  }
}

function rawField(buf: Uint8Array): Uint8Array {
  const r = new Reader(buf);
  while (r.pos < r.end) {
    const key = r.varint();
    const wire = Number(key & 7n);
    if (wire === 0) r.varint();
    else if (wire === 2) {
      const b = r.bytes();
      if (Number(key >> 3n) === 2) return b;
    } else throw new DecodeError(`unsupported wire type ${wire}`);
  }
  return new Uint8Array();
}
