// `googlenet dashboard`: a live, read-only web page of a store.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DASHBOARD_DEFAULTS, startDashboard } from '../../dashboard/server.js';
import { isLoopback, newToken } from '../../dashboard/security.js';
import { DB_FILE } from '../../experiment/experiment.js';
import { openStore } from '../../store/open.js';
import { display } from '../../util/display.js';
import { examples, portNumber, storeOption, storeUrl } from '../args.js';

export const dashboard = new Command('dashboard')
  .description('a read-only web page of a store, live: the seed\'s tables with ours, every run, curves per dataset, a page per run, runs side by side')
  .addOption(storeOption(`; --out DIR for an experiment folder's ${DB_FILE}`))
  .option('--out <dir>', `experiment folder: its sqlite:DIR/${DB_FILE}`)
  .option('--port <n>', 'port to listen on (0: any free port)', portNumber, DASHBOARD_DEFAULTS.port)
  .option('--host <address>', 'address to bind; anything but loopback lets other machines in, with a token', DASHBOARD_DEFAULTS.host)
  .option('--token <token>', 'the token the page must present, 16 characters or more (default: none on loopback, a random one otherwise)', (v: string) => {
    if (v.length < 16 || /\s|;/.test(v)) throw new InvalidArgumentError(`--token must be 16 characters or more, without spaces or ';', got ${v.length} characters`);
    return v;
  })
  .option('--allow-host <name>', 'also accept this Host header name (a DNS name or proxy in front; repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .addHelpText('after', examples(
    '# the experiment of runs/small, on http://127.0.0.1:6006/',
    'googlenet dashboard --out runs/small',
    '# a PostgreSQL store, shared on the network (prints a URL with a token)',
    'googlenet dashboard --store postgres://gn@dbhost:5432/runs --host 0.0.0.0',
  ))
  .action(async (o: { store?: string; out?: string; port: number; host: string; token?: string; allowHost: string[] }) => {
    if (o.store && o.out) throw new Error('give --store or --out, not both');
    const store = await openStore(o.out ? `sqlite:${path.join(o.out, DB_FILE)}` : storeUrl(o), { existing: true });
    const loopback = isLoopback(o.host);
    const token = o.token ?? (loopback ? undefined : newToken());
    let dash;
    try {
      dash = await startDashboard({ store, host: o.host, port: o.port, token, allowHosts: o.allowHost, onPollError: (e) => display.warn(`googlenet: dashboard: reading ${store.url} failed: ${e.message}`) });
    } catch (e) {
      await store.close();
      throw e;
    }
    if (loopback) display.info(`googlenet: dashboard of ${store.url}, bound to ${o.host}: only this machine can open it (--host 0.0.0.0 shares it)`);
    else display.warn(`googlenet: dashboard of ${store.url} bound to ${o.host}: anyone who can reach port ${dash.port} can try; the page needs the token in the URL below`);
    display.out(`${dash.url}${token ? `?token=${encodeURIComponent(token)}` : ''}`);
    await new Promise<void>((resolve) => {
      const end = () => resolve();
      process.once('SIGINT', end);
      process.once('SIGTERM', end);
    });
    await dash.close();
    await store.close();
    display.info('googlenet: dashboard closed');
  });
