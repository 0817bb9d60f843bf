import { expect } from 'chai';
import { parsePodManifest, type PodManifest } from '../../src/envvars/pod.js';
import { formatProblem } from '../../src/result.js';

const POD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: team-a\nspec:\n  containers:\n  - name: app\n    image: busybox\n';

describe('resolv.conf: reading a Pod manifest', () => {
  const rows: Array<{ desc: string; file?: string; text: string; want?: PodManifest; errors?: string[] }> = [
    { desc: 'a plain Pod: namespace and name, policy left to the default', text: POD, want: { name: 'web', namespace: 'team-a' } },
    {
      desc: 'every DNS field',
      text: `${POD}  dnsPolicy: None\n  hostNetwork: true\n  dnsConfig:\n    nameservers: [192.0.2.1, "fd00::53"]\n    searches: [corp.example.com, abs.example.org.]\n    options:\n    - name: ndots\n      value: "2"\n    - name: edns0\n`,
      want: {
        name: 'web',
        namespace: 'team-a',
        dnsPolicy: 'None',
        hostNetwork: true,
        dnsConfig: { nameservers: ['192.0.2.1', 'fd00::53'], searches: ['corp.example.com', 'abs.example.org.'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
      },
    },
    { desc: 'no namespace: left to --namespace or default', text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n', want: { name: 'x' } },
    { desc: 'JSON', file: 'pod.json', text: '{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"ns"},"spec":{"dnsPolicy":"Default"}}', want: { namespace: 'ns', dnsPolicy: 'Default' } },
    { desc: 'a Service is not a Pod', text: 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {}\n', errors: ['pod.yaml:1: is a Service (v1), not a Pod: expected apiVersion: v1 and kind: Pod'] },
    { desc: 'a Deployment is not a Pod', text: 'apiVersion: apps/v1\nkind: Deployment\n', errors: ['pod.yaml:1: is a Deployment (apps/v1), not a Pod: expected apiVersion: v1 and kind: Pod'] },
    { desc: 'not an object at all', text: '- a\n- b\n', errors: ['pod.yaml:1: must be an object, not a list'] },
    { desc: 'an empty file', text: '# nothing\n', errors: ['pod.yaml:1: holds no object: expected one v1 Pod'] },
    { desc: 'YAML that does not parse', text: 'apiVersion: v1\nkind: [Pod\n', errors: ['pod.yaml:3: unexpected end of the stream within a flow collection'] },
    { desc: 'two documents', text: `${POD}---\n${POD}`, errors: ['pod.yaml:10: holds 2 documents: expected exactly one v1 Pod'] },
    { desc: 'an unknown dnsPolicy', text: `${POD}  dnsPolicy: ClusterLast\n`, errors: ['pod.yaml:10: spec.dnsPolicy: must be one of ClusterFirst, ClusterFirstWithHostNet, Default, None, not "ClusterLast"'] },
    { desc: 'hostNetwork must be a boolean', text: `${POD}  hostNetwork: "yes"\n`, errors: ['pod.yaml:10: spec.hostNetwork: must be true or false, not "yes"'] },
    { desc: 'None without a nameserver', text: `${POD}  dnsPolicy: None\n`, errors: ['pod.yaml:10: spec.dnsPolicy: is None: spec.dnsConfig.nameservers must provide at least one DNS nameserver'] },
    {
      desc: 'more than 3 nameservers',
      text: `${POD}  dnsConfig:\n    nameservers: [192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4]\n`,
      errors: ['pod.yaml:11: spec.dnsConfig.nameservers: must not have more than 3 nameservers'],
    },
    { desc: 'a nameserver that is not an IP', text: `${POD}  dnsConfig:\n    nameservers: [dns.example.org]\n`, errors: ['pod.yaml:11: spec.dnsConfig.nameservers[0]: must be a valid IP address, not "dns.example.org"'] },
    { desc: 'a search domain that is not a domain', text: `${POD}  dnsConfig:\n    searches: [Bad_Domain]\n`, errors: ['pod.yaml:11: spec.dnsConfig.searches[0]: "Bad_Domain" must be a DNS-1123 subdomain (lower-case labels separated by dots)'] },
    {
      desc: 'an option without a name',
      text: `${POD}  dnsConfig:\n    options:\n    - value: "1"\n`,
      errors: ['pod.yaml:12: spec.dnsConfig.options[0].name: is required'],
    },
    { desc: 'a bad namespace', text: 'apiVersion: v1\nkind: Pod\nmetadata: {namespace: Team_A}\nspec: {}\n', errors: ['pod.yaml:3: metadata.namespace: "Team_A" must be a DNS-1123 label: at most 63 characters, lower-case letters, digits and "-", starting and ending with a letter or digit'] },
  ];
  for (const r of rows) {
    it(r.desc, () => {
      const got = parsePodManifest(r.file ?? 'pod.yaml', r.text);
      if (r.errors) {
        expect(got.ok).to.equal(false);
        if (!got.ok) expect(got.error.map(formatProblem)).to.deep.equal(r.errors);
        return;
      }
      expect(got.ok, JSON.stringify(got)).to.equal(true);
      if (got.ok) expect(got.value).to.deep.equal(r.want);
    });
  }
});
