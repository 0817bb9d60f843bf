/**
 * The catalogue of error codes svcdns reports, one place for every message a user may see.
 * Each code names where the error comes from; README.md lists them.
 */
export const ERRORS = {
  ERR_ZONE_PARSE: 'the file is not valid YAML or JSON',
  ERR_ZONE_INVALID: 'an object in the registry is invalid and was skipped',
  ERR_ZONE_DUPLICATE: 'two objects have the same kind, namespace and name',
  ERR_ZONE_READ: 'a zone folder or file could not be read',
  ERR_ZONE_SETTINGS: 'the zone settings file is invalid',
  ERR_CONFIG: 'a command-line flag or SVCDNS_* variable is invalid',
  ERR_LISTEN: 'a socket could not be opened',
  ERR_POD_INVALID: 'a Pod manifest is not a valid v1 Pod',
  ERR_RESOLV_PARSE: "the node's resolv.conf cannot be read or kubelet would refuse it",
  ERR_WRITE: 'an output file could not be written',
  ERR_UPSTREAM_LOOP: 'an upstream resolver is svcdns itself or forwards back to it',
  ERR_ETCD: 'etcd could not be reached, or refused a request',
  ERR_REGISTER: 'svcdns register cannot register the endpoint (no such zone or Service)',
} as const;

/** ErrorCode is one of the catalogue's codes. */
export type ErrorCode = keyof typeof ERRORS;

/** SvcdnsError carries a catalogue code, for errors that end a command. */
export class SvcdnsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SvcdnsError';
  }
}
