/** DNS constants used across the server (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891). */
export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

/** Response codes (RFC 1035 §4.1.1, RFC 6891 §6.1.3 for BADVERS). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

/** CLASS IN. */
export const CLASS_IN = 1;

/** SoaData is the RDATA of an SOA record; names are keys (see names.ts). */
export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** Rdata is the data of one record svcdns serves; every name in it is a key (see names.ts). */
export type Rdata =
  | { type: typeof TYPE.A | typeof TYPE.AAAA; ip: string }
  | { type: typeof TYPE.CNAME | typeof TYPE.PTR | typeof TYPE.NS; target: string }
  | { type: typeof TYPE.SRV; priority: number; weight: number; port: number; target: string }
  | { type: typeof TYPE.TXT; text: string[] }
  | { type: typeof TYPE.SOA; soa: SoaData };

/** RRSet is every record of one type at one name, with its TTL. */
export interface RRSet {
  type: number;
  ttl: number;
  records: Rdata[];
}
