/**
 * The pure parts of hub-to-hub links: organ-id patterns and the routing decision, the "federation"
 * section of hub.json and its refusals, hop records, and the intake checks a hub makes on what
 * a linked hub forwards before it verifies a signature.
 */
import t from 'tap';
import { LtError } from '../../src/errors.js';
import { federationSettings, linkPasswordVariable, type FederationContext } from '../../src/federation/config.js';
import { hopsHeader, parseHops } from '../../src/federation/hops.js';
import { hopRefusal, linkOfPeer, peerRefusal, senderRefusal } from '../../src/federation/intake.js';
import { compilePattern, linkFor, routeRecipient, type LinkRoute } from '../../src/federation/patterns.js';
import { resourceNames } from '../../src/broker/names.js';
import { linkPermissions } from '../../src/broker/topology.js';
import { addAgency, type ProvisioningContext } from '../../src/hub/provisioning.js';

const HUB = '000.00.90.H12';
const route = (name: string, ...patterns: string[]): LinkRoute & { peerUser: string } => ({ name, patterns: patterns.map((p) => compilePattern(p)), peerUser: `lt.link.${name}` });

t.test('a pattern is an organ id with "*" for any part', async (t) => {
  const h53 = compilePattern('*.H53');
  t.ok(h53.test('000.00.01.H53'));
  t.ok(h53.test('000.21.31.H53'));
  t.notOk(h53.test('000.00.01.H12'), 'another province');
  t.notOk(h53.test('000.00.01.H531'), 'the suffix is matched whole');
  t.ok(compilePattern('*.G*').test('000.00.00.G22'));
  for (const bad of ['*', '*.*', '*.h53', 'H53 ', '*.H5?', '']) t.throws(() => compilePattern(bad), { code: 'CONFIG_INVALID' }, `"${bad}" is refused`);
});

t.test('the routing decision: the directory first, then the most specific link, else no route naming the suffix', async (t) => {
  const links = [route('axis', '*.G*'), route('h53', '*.H53'), route('vpcp', '*.G22')];
  t.same(routeRecipient('000.00.01.H53', true, links), { kind: 'local' }, 'an agency of this hub stays here');
  t.equal(linkFor('000.00.01.H53', links)?.name, 'h53');
  t.equal(linkFor('000.00.00.G22', links)?.name, 'vpcp', '*.G22 before *.G*');
  t.equal(linkFor('000.00.00.G01', links)?.name, 'axis');
  t.same(routeRecipient('000.00.01.H99', false, links), { kind: 'none', suffix: 'H99' });
});

const ctx: FederationContext = { file: 'hub.json', baseDir: '/etc/lienthong', env: {}, hubOrganId: HUB, hubPrefix: 'lt' };
const link = (extra: Record<string, unknown> = {}) => ({
  name: 'h53',
  kind: 'amqp',
  patterns: ['*.H53'],
  amqp: { url: 'amqps://lt.link.h12:secret@hub.h53.example:5671/lt', prefix: 'lt' },
  trust: { anchors: ['certs/root.pem'] },
  ...extra,
});

t.test('the federation section: links with their patterns, trust, peer user and remote', async (t) => {
  const config = federationSettings({ links: [link()] }, ctx);
  const only = config?.links[0];
  t.equal(config?.maxHops, 4);
  t.match(only, { name: 'h53', kind: 'amqp', peerUser: 'lt.link.h53', amqp: { prefix: 'lt', user: 'lt.link.h12' }, trust: { anchors: ['/etc/lienthong/certs/root.pem'] } });
  t.equal(federationSettings(undefined, ctx), undefined, 'no section, no links');
  const withPassword = federationSettings({ links: [link()] }, { ...ctx, env: { [linkPasswordVariable('h53')]: 'from env' } });
  const withPasswordLink = withPassword?.links[0];
  t.equal(withPasswordLink?.kind, 'amqp');
  t.equal(new URL(withPasswordLink?.kind === 'amqp' ? (withPasswordLink.amqp.urls[0] as string) : '').password, encodeURIComponent('from env'), 'the password may come from the environment');
  t.equal(linkPasswordVariable('h-53'), 'LT_LINK_H_53_PASSWORD');
});

t.test('a link to the national axis: its axis block, no peer user', async (t) => {
  const axis = { name: 'axis', kind: 'axis', patterns: ['*.G*'], trust: { anchors: ['certs/root.pem'] }, axis: { baseUrl: 'https://axis.example/vxp/', systemId: 'camau.lienthong', secretEnv: 'LT_AXIS_SECRET' } };
  const config = federationSettings({ links: [link(), axis] }, { ...ctx, env: { LT_AXIS_SECRET: 's3cret' } });
  const only = config?.links[1];
  t.match(only, { name: 'axis', kind: 'axis', axis: { baseUrl: 'https://axis.example/vxp', systemId: 'camau.lienthong', secret: 's3cret' } });
  t.notOk(only && 'peerUser' in only, 'nobody publishes to the intake for the axis');
  const refusal = (raw: unknown, env: NodeJS.ProcessEnv = { LT_AXIS_SECRET: 's3cret' }): string => {
    try {
      federationSettings({ links: [raw] }, { ...ctx, env });
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  };
  t.match(refusal({ ...axis, amqp: { url: 'amqp://x' } }), /"federation\.links\[0\]\.amqp" is not a setting of a link of kind "axis"/, 'an axis link has no AMQP block');
  t.match(refusal({ ...axis, peerUser: 'x' }), /peerUser" is not a setting of a link of kind "axis"/);
  t.match(refusal({ ...axis, axis: { ...axis.axis, baseUrl: 'ftp://x' } }), /federation\.links\[0\]\.axis\.baseUrl.*http/, 'its axis block is checked');
  t.match(refusal(axis, {}), /LT_AXIS_SECRET, which is not set/, 'its secret must be there');
});

t.test('configuration mistakes are refused with CONFIG_INVALID and what to do', async (t) => {
  const refused = (raw: unknown, message: RegExp, what: string): void => {
    let error: unknown;
    try {
      federationSettings(raw, ctx);
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof LtError && error.code === 'CONFIG_INVALID' && message.test(error.message), what, { error: (error as Error | undefined)?.message });
  };
  refused({ links: [link({ patterns: ['*'] })] }, /matches every organ id/, 'a catch-all pattern');
  refused({ links: [link({ patterns: ['*.h53'] })] }, /"\*\.h53" must be an organ id/, 'a bad pattern');
  refused({ links: [link({ patterns: ['*.H12'] })] }, /matches this hub's own organ id/, "a pattern matching the hub's own agencies");
  refused({ links: [link(), link()] }, /name the link "h53" twice/, 'a duplicate name');
  refused({ links: [link(), link({ name: 'other', peerUser: 'x' })] }, /pattern "\*\.H53" to both/, 'one pattern on two links');
  refused({ links: [link({ name: 'H53' })] }, /lower-case/, 'a name that cannot name queues');
  refused({ links: [link({ kind: 'ftp' })] }, /"amqp"/, 'an unknown kind');
  refused({ links: [link({ amqp: { url: 'http://x' } })] }, /amqp:\/\/ or amqps:\/\//, 'a URL that is not AMQP');
  refused({ links: [link({ amqp: { url: 'amqp://host:5672' } })] }, /names no user/, 'a URL without the user');
  refused({ links: [link({ trust: {} })] }, /trust\.anchors/, 'no trust anchors');
  refused({ links: [link({ colour: 'red' })] }, /"federation\.links\[0\]\.colour" is not a setting/, 'an unknown key');
  refused({ links: {} }, /must be a list/, 'links not a list');
});

t.test('hop records travel as JSON; what cannot be read is no route', async (t) => {
  const hops = [{ hub: HUB, name: 'Cà Mau', at: '2026-12-01T10:00:00.000Z', lane: 'urgent' as const }];
  t.same(parseHops(hopsHeader(hops)), hops);
  t.same(parseHops(undefined), [], 'no header: the packet comes straight from its first hub');
  t.equal(parseHops('{'), undefined);
  t.equal(parseHops('[{"hub": 1}]'), undefined);
});

t.test('the intake checks, in order', async (t) => {
  const h53 = route('h53', '*.H53');
  const g22 = route('g22', '*.G22');
  const links = [h53, g22];
  t.equal(linkOfPeer('lt.link.h53', links), h53, "the validated user-id names the link");
  t.equal(linkOfPeer('lt.agency.000.00.01.H12', links), undefined);
  t.match(peerRefusal('lt.agency.x'), { code: 'FEDERATION_LINK_UNKNOWN' });

  t.equal(hopRefusal([{ hub: '000.00.90.H53', at: 'x', lane: 'normal' }], HUB, 4, 'h53'), undefined);
  t.match(hopRefusal([{ hub: HUB, at: 'x', lane: 'normal' }], HUB, 4, 'h53'), { code: 'FEDERATION_LOOP', message: /already passed through this hub/ });
  const many = Array.from({ length: 4 }, (_, i) => ({ hub: `000.00.9${i}.H53`, at: 'x', lane: 'normal' as const }));
  t.match(hopRefusal(many, HUB, 4, 'h53'), { code: 'FEDERATION_LOOP', message: /passed through 4 hubs/ });
  t.match(hopRefusal(undefined, HUB, 4, 'h53'), { code: 'FEDERATION_LOOP', message: /cannot be read/ });

  const own = new Set(['000.00.01.H12', HUB]);
  const isOwn = (id: string): boolean => own.has(id);
  t.equal(senderRefusal('000.00.01.H53', h53, links, isOwn), undefined, 'an agency the link serves');
  t.match(senderRefusal('000.00.01.H12', h53, links, isOwn), { code: 'FEDERATION_SENDER_REFUSED', message: /an agency of this hub/ });
  t.match(senderRefusal('000.00.01.G22', h53, links, isOwn), { code: 'FEDERATION_SENDER_REFUSED', message: /link "g22" serves/ });
  t.match(senderRefusal('000.00.01.H99', h53, links, isOwn), { code: 'FEDERATION_SENDER_REFUSED', message: /does not serve/ });
  t.match(senderRefusal(undefined, h53, links, isOwn), { code: 'FEDERATION_SENDER_REFUSED' });
});

t.test('names and permissions of links', async (t) => {
  const names = resourceNames('lt');
  t.equal(names.federationQueue('h53', 'urgent'), 'lt.federation.h53.urgent');
  t.equal(names.federationQueue('h53', 'normal'), 'lt.federation.h53');
  t.same(names.hubFederationIn, { urgent: 'lt.hub.federation-in.urgent', normal: 'lt.hub.federation-in' });
  t.equal(names.linkOfUser(names.linkUser('h53')), 'h53');
  t.equal(names.organOfUser(names.linkUser('h53')), undefined, 'a link user is no agency');
  t.throws(() => names.linkUser('a.b'), { code: 'CONFIG_INVALID' });
  t.same(linkPermissions(names), { configure: '^$', write: '^lt\\.federation-in$', read: '^$' }, 'a linked hub may only publish to the intake');
});

t.test("agency add refuses an organ id a link serves: it is another hub's agency", async (t) => {
  // Refused before the directory or the broker is touched.
  const ctx = { db: undefined, api: undefined, names: resourceNames('lt'), actor: 'test', links: [route('h53', '*.H53')] } as unknown as ProvisioningContext;
  await t.rejects(addAgency(ctx, { organId: '000.00.01.H53', name: 'Văn phòng UBND tỉnh' }), { code: 'USAGE', message: /served by link "h53"/ });
});
