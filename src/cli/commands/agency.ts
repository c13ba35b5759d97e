import { EXIT_OK, parseCommandArgs, reportError, requireOption, writeJson, type Command, type Io } from '../command.js';
import { LtError } from '../../errors.js';
import { writeOutput } from '../../files.js';
import { withHubDatabase } from '../open-node.js';
import type { ManagementClient } from '../../broker/management.js';
import type { CapacityEstimate } from '../../broker/capacity.js';

const USAGE = 'lienthong agency add|list|suspend|resume|remove ... --config hub.json';

/**
 * After an add, whether the broker still holds every agency: warned on stderr, naming the
 * setting to raise, while the operator is still at the keyboard (the running hub raises the
 * same problem on its health board at its next look). The agency is added either way.
 */
async function capacityAfterAdd(api: ManagementClient, agencies: number, io: Io): Promise<CapacityEstimate[] | undefined> {
  const { brokerCapacity, capacityProblem } = await import('../../hub/broker-capacity.js');
  try {
    const estimates = await brokerCapacity(api, agencies);
    const problem = capacityProblem(estimates);
    if (problem) io.stderr.write(`lienthong agency: warning: BROKER_CAPACITY: ${problem}\n`);
    return estimates;
  } catch (error) {
    io.stderr.write(`lienthong agency: warning: cannot check the broker's file-descriptor and memory budget: ${(error as Error).message}\n`);
    return undefined;
  }
}

export const agencyCommand: Command = {
  name: 'agency',
  help: `Usage:
  lienthong agency add <organId> --name "..." [--parent <organId>] --config hub.json [--json]
  lienthong agency list [--status active|suspended|removed] [--search TEXT] --config hub.json [--json]
  lienthong agency suspend <organId> --config hub.json
  lienthong agency resume <organId> --config hub.json
  lienthong agency remove <organId> --config hub.json

"add" registers the agency in the hub directory and, through the RabbitMQ management API,
creates its broker user with a generated password, its two quorum queues (urgent and normal)
named with a random token nobody else can guess, bound to the deliver exchange, and
permissions to write to the submit exchange and read those two queues only. The edge's AMQP
URL carries both (password, ?queueToken=...): it is shown once; give it to the agency's IT.
When the hub logs in to the broker with a client certificate (brokerTls.cert), the agency's
edge does too: "add" then also says the common name its certificate must carry (its user).
"suspend" makes the hub refuse the agency's packets and bounce documents addressed to it;
"resume" undoes it. "remove" deletes the queues and the broker user, and is refused while a
queue still holds packets. Every change is recorded in the audit trail. After "add", the
broker's file descriptors and memory are checked against every agency and a shortfall is
warned on stderr (BROKER_CAPACITY), naming the setting to raise; the agency is added anyway.

Options:
  --config FILE    the hub configuration (required)
  --name TEXT      the agency's name (add)
  --parent ID      the parent agency's organ id (add)
  --status S       list only agencies in this state
  --search TEXT    list only agencies whose id or name contains TEXT
  --write-url FILE (add) write the edge's AMQP URL, password and queue token included, to
                   FILE (mode 600) instead of printing them
  --url-host HOST  (add) host name to put in that URL (default: the hub's); over TLS, a
                   name the broker's certificate carries
  --json           machine-readable output
  -h, --help       this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        name: { type: 'string' },
        parent: { type: 'string' },
        status: { type: 'string' },
        search: { type: 'string' },
        json: { type: 'boolean' },
        'write-url': { type: 'string' },
        'url-host': { type: 'string' },
      });
      const [action, organId, ...extra] = positionals;
      if (!action) throw new LtError('USAGE', `give an action: ${USAGE}`);
      if (extra.length > 0) throw new LtError('USAGE', `unexpected argument "${extra[0]}"`);
      const { ManagementClient } = await import('../../broker/management.js');
      const { resourceNames } = await import('../../broker/names.js');
      const provisioning = await import('../../hub/provisioning.js');
      const { Directory } = await import('../../hub/directory.js');
      return await withHubDatabase(values.config, io, async (db, config) => {
        const { quotasOf } = await import('../../hub/config.js');
        const { maxConnections, maxChannels } = quotasOf(config);
        const ctx = {
          db,
          api: new ManagementClient(config.management),
          names: resourceNames(config.prefix),
          actor: `cli:${io.env.USER ?? 'operator'}`,
          userLimits: { maxConnections, maxChannels },
          ...(config.federation ? { links: config.federation.links } : {}),
        };
        const needId = (): string => {
          if (!organId) throw new LtError('USAGE', `"agency ${action}" needs an organ id`);
          return organId;
        };
        switch (action) {
          case 'add': {
            const { agency, password } = await provisioning.addAgency(ctx, {
              organId: needId(),
              name: requireOption(values.name, '--name'),
              ...(values.parent ? { parentId: values.parent } : {}),
            });
            const { withCredentials } = await import('../../broker/connection.js');
            const { amqpUrlsOf } = await import('../../config.js');
            // The queue token travels inside the edge's AMQP URL, with the password; with a
            // cluster, one URL per node, comma-separated, as AMQP_URL and "amqpUrl" take them.
            const urls = amqpUrlsOf(config).map((node) => {
              const url = new URL(withCredentials(node, agency.brokerUser, password, agency.queueToken));
              if (values['url-host']) url.hostname = values['url-host'];
              return url.toString();
            });
            const amqpUrl = [...new Set(urls)].join(',');
            if (values['write-url']) await writeOutput(values['write-url'], `${amqpUrl}\n`, 0o600);
            const capacity = await capacityAfterAdd(ctx.api, new Directory(db).queueOwners(), io);
            // A deployment whose hub logs in with a certificate gives its edges certificates too: the broker reads the user from the CN.
            const certificateLogin = config.tls?.cert !== undefined;
            if (values.json) {
              writeJson(io, {
                agency,
                brokerUser: agency.brokerUser,
                password,
                queueToken: agency.queueToken,
                amqpUrl,
                ...(certificateLogin ? { clientCertificateSubject: `CN=${agency.brokerUser}` } : {}),
                ...(capacity ? { capacity } : {}),
              });
            } else if (values['write-url']) {
              io.stdout.write(`registered ${agency.organId} "${agency.name}"; its AMQP URL (with the password and queue token) is in ${values['write-url']}\n`);
            } else {
              io.stdout.write(`registered ${agency.organId} "${agency.name}"\n`);
              io.stdout.write(`broker user: ${agency.brokerUser}\n`);
              io.stdout.write(`password:    ${password}\n`);
              io.stdout.write(`queue token: ${agency.queueToken}\n`);
              io.stdout.write(`AMQP URL:    ${amqpUrl}\n`);
              if (certificateLogin) io.stdout.write(`client certificate (EXTERNAL login, brokerTls.cert of the edge): issue it with CN=${agency.brokerUser}\n`);
              io.stdout.write('Shown once: put the AMQP URL (password and queue token included) in the edge configuration now (amqpUrl or AMQP_URL).\n');
            }
            return EXIT_OK;
          }
          case 'list': {
            if (organId) throw new LtError('USAGE', '"agency list" takes no organ id; use --search');
            const status = values.status as 'active' | 'suspended' | 'removed' | undefined;
            if (status && !['active', 'suspended', 'removed'].includes(status)) throw new LtError('USAGE', '--status is active, suspended or removed');
            const agencies = new Directory(db).list({ ...(status ? { status } : {}), ...(values.search ? { search: values.search } : {}) });
            if (values.json) writeJson(io, { agencies });
            else for (const a of agencies) io.stdout.write(`${a.organId.padEnd(14)} ${a.status.padEnd(9)} ${a.name}${a.parentId ? `  (under ${a.parentId})` : ''}${a.kind === 'hub' ? '  (this hub)' : ''}\n`);
            return EXIT_OK;
          }
          case 'suspend':
          case 'resume': {
            const agency = provisioning.setAgencyStatus(ctx, needId(), action === 'suspend' ? 'suspended' : 'active');
            io.stdout.write(`${agency.organId} is now ${agency.status}\n`);
            return EXIT_OK;
          }
          case 'remove': {
            const agency = await provisioning.removeAgency(ctx, needId());
            io.stdout.write(`${agency.organId} removed: queues and broker user deleted\n`);
            return EXIT_OK;
          }
          default:
            throw new LtError('USAGE', `unknown action "${action}": ${USAGE}`);
        }
      });
    } catch (error) {
      return reportError(io, 'agency', error);
    }
  },
};
