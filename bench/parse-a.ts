/** parseA reads the IPv4 addresses of the A records in a DNS response (benchmark probes: no dns2 on the timed path). */
export function parseA(msg: Buffer): string[] {
  let off = 12;
  const skipName = () => {
    while (off < msg.length) {
      const len = msg[off]!;
      if (len === 0) return void off++;
      if ((len & 0xc0) === 0xc0) return void (off += 2);
      off += len + 1;
    }
  };
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  for (let i = 0; i < qd; i++) {
    skipName();
    off += 4;
  }
  const out: string[] = [];
  for (let i = 0; i < an && off < msg.length; i++) {
    skipName();
    const type = msg.readUInt16BE(off);
    const rdlen = msg.readUInt16BE(off + 8);
    off += 10;
    if (type === 1 && rdlen === 4) out.push([...msg.subarray(off, off + 4)].join('.'));
    off += rdlen;
  }
  return out;
}
