import { parseIP, type ParsedIP } from '../../net/ip.js';
import type { Protocol } from '../model.js';

/** Path is a field path inside an object, e.g. ['spec', 'ports', 0, 'port']. */
export type Path = ReadonlyArray<string | number>;

/** FieldProblem is a validation failure at a field path. */
export interface FieldProblem {
  path: Path;
  message: string;
}

/** formatPath renders ['spec','ports',0,'port'] as spec.ports[0].port. */
export function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Fields reads untyped objects and collects every problem it meets, with its path. */
export class Fields {
  readonly problems: FieldProblem[] = [];

  /** fail records a problem and returns undefined, so readers can `return f.fail(...)`. */
  fail(path: Path, message: string): undefined {
    this.problems.push({ path, message });
    return undefined;
  }

  /** record returns the value as a plain object, or undefined (with a problem when required). */
  record(v: unknown, path: Path, required = false): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return required ? this.fail(path, 'is required') : undefined;
    if (typeof v !== 'object' || Array.isArray(v)) return this.fail(path, `must be an object, not ${describe(v)}`);
    return v as Record<string, unknown>;
  }

  /** list returns the value as an array; null and absent give []. */
  list(v: unknown, path: Path): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.fail(path, `must be a list, not ${describe(v)}`);
      return [];
    }
    return v;
  }

  /** string returns the value as a string; absent gives undefined (with a problem when required). */
  string(v: unknown, path: Path, required = false): string | undefined {
    if (v === undefined || v === null) return required ? this.fail(path, 'is required') : undefined;
    if (typeof v !== 'string') return this.fail(path, `must be a string, not ${describe(v)}`);
    return v;
  }

  /** bool reads a boolean field. */
  bool(v: unknown, path: Path): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return this.fail(path, `must be true or false, not ${describe(v)}`);
    return v;
  }

  /** port reads a port number 1-65535. */
  port(v: unknown, path: Path, required = true): number | undefined {
    if (v === undefined || v === null) return required ? this.fail(path, 'is required') : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
      return this.fail(path, `must be a port number between 1 and 65535, not ${describe(v)}`);
    }
    return v;
  }

  /** protocol reads TCP/UDP/SCTP; absent is TCP, as the API server defaults it. */
  protocol(v: unknown, path: Path): Protocol {
    if (v === undefined || v === null) return 'TCP';
    if (v === 'TCP' || v === 'UDP' || v === 'SCTP') return v;
    this.fail(path, `must be TCP, UDP or SCTP, not ${describe(v)}`);
    return 'TCP';
  }

  /** ip reads an IP address and returns it parsed. */
  ip(v: unknown, path: Path): ParsedIP | undefined {
    const s = this.string(v, path, true);
    if (s === undefined) return undefined;
    return parseIP(s) ?? this.fail(path, `must be a valid IP address, not ${JSON.stringify(s)}`);
  }

  /** label checks a DNS-1123 label (namespaces, hostnames) or, with rfc1035, a DNS-1035 label (Service names). */
  label(v: unknown, path: Path, { required = true, rfc1035 = false } = {}): string | undefined {
    const s = this.string(v, path, required);
    if (s === undefined) return undefined;
    const re = rfc1035 ? DNS1035_LABEL : DNS1123_LABEL;
    if (s.length > 63 || !re.test(s)) {
      const what = rfc1035
        ? 'a DNS-1035 label: at most 63 characters, lower-case letters, digits and "-", starting with a letter and ending with a letter or digit'
        : 'a DNS-1123 label: at most 63 characters, lower-case letters, digits and "-", starting and ending with a letter or digit';
      return this.fail(path, `${JSON.stringify(s)} must be ${what}`);
    }
    return s;
  }

  /** subdomain checks a DNS-1123 subdomain (EndpointSlice names, ExternalName targets). */
  subdomain(v: unknown, path: Path, required = true): string | undefined {
    const s = this.string(v, path, required);
    if (s === undefined) return undefined;
    if (!isSubdomain(s)) {
      return this.fail(path, `${JSON.stringify(s)} must be a DNS-1123 subdomain: dot-separated labels of lower-case letters, digits and "-", at most 253 characters`);
    }
    return s;
  }

  /**
   * portName checks a Service port name: a DNS-1123 label, as the API server validates it
   * (validateServicePort), so names kubectl makes such as "80-8080" are valid.
   */
  portName(v: unknown, path: Path): string {
    const s = this.string(v, path) ?? '';
    if (s !== '' && (s.length > 63 || !DNS1123_LABEL.test(s))) {
      this.fail(path, `${JSON.stringify(s)} must be a DNS-1123 label: at most 63 characters, lower-case letters, digits and "-", starting and ending with a letter or digit`);
    }
    return s;
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** isSubdomain tells whether s is a DNS-1123 subdomain. */
export function isSubdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((l) => l.length <= 63 && DNS1123_LABEL.test(l));
}

/** isIanaSvcName tells whether s is a valid Kubernetes port name (IANA_SVC_NAME, RFC 6335). */
export function isIanaSvcName(s: string): boolean {
  return s.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

/** describe names a value for an error message. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}
