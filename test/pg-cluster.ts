// A throwaway PostgreSQL cluster for tests (15, as Debian bookworm ships it): initdb into a temp
// folder (SCRAM passwords, TCP on 127.0.0.1 only, a free port, its socket in the folder), a role
// and a database for the tests, stopped and removed at the end. PostgreSQL refuses to run as root, so as root the folder
// belongs to the `postgres` user and every server command runs through `runuser -u postgres`.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { PostgresStore } from '../src/store/postgres.js';

/** PostgreSQL 15's binaries (Debian's layout), else the newest version installed. */
export const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  const v = versions.includes('15') ? '15' : versions.sort((a, b) => Number(b) - Number(a))[0] ?? '15';
  return path.join(root, v, 'bin');
})();

/** For tests that need PostgreSQL: {} when its binaries are here, `{skip}` when not (an error under CI=true). */
export function requirePostgres(): { skip?: string } {
  if (fs.existsSync(path.join(PG_BIN, 'initdb'))) return {};
  if (process.env.CI === 'true') throw new Error(`${PG_BIN}/initdb is required under CI (CI=true) but is missing; install postgresql (scripts/setup-debian.sh --tests)`);
  return { skip: `${PG_BIN}/initdb not found (install postgresql-15, e.g. scripts/setup-debian.sh --tests); skipping the PostgreSQL tests` };
}

export interface PgCluster {
  host: string;
  port: number;
  /** The tests' role and its database. */
  user: string;
  password: string;
  database: string;
  /** postgres://user:password@host:port/database */
  url: string;
  urlWithoutPassword: string;
  /** A new database owned by the tests' role; its URL (with the password). */
  createDatabase(name: string): Promise<string>;
  /** SQL as the superuser, in `database` (default: the tests' one). */
  superQuery(sql: string, database?: string): Promise<pg.QueryResult>;
  /** Stops the server (pg_ctl -m fast), waits `seconds`, starts it again; resolves once it accepts connections. */
  restart(seconds: number): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

const run = promisify(execFile);

/** A port free on 127.0.0.1 now (the OS's pick for port 0). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function startCluster(): Promise<PgCluster> {
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'googlenet-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const superPassword = randomBytes(12).toString('hex');
  const pwfile = path.join(dir, 'superuser-password');
  fs.writeFileSync(pwfile, superPassword + '\n', { mode: 0o600 });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    for (const p of [dir, pwfile]) fs.chownSync(p, uid, gid);
  }
  const cmd = (bin: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]] : [path.join(PG_BIN, bin), args];
  const exec = async (bin: string, args: string[]) => {
    const [file, argv] = cmd(bin, args);
    try {
      await run(file, argv, { env: { ...process.env, LC_ALL: 'C' } });
    } catch (e) {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`${bin} ${args.join(' ')} failed: ${(e as { stderr?: string }).stderr || (e as Error).message}\n${tail}`);
    }
  };

  // if this process exits without stop(), or the start fails, the server and its folder must not outlive it
  let stopped = false;
  let restarting: Promise<void> = Promise.resolve();
  const onExit = () => {
    if (stopped) return;
    stopped = true;
    if (fs.existsSync(path.join(data, 'postmaster.pid'))) {
      const [file, argv] = cmd('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      spawnSync(file, argv, { stdio: 'ignore' });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  const port = await freePort();
  // fsync off: a test cluster need not survive a power cut, and it makes commits fast
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = () => exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']);
  try {
    await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    fs.rmSync(pwfile);
    await start();
  } catch (e) {
    onExit();
    process.off('exit', onExit);
    throw e;
  }

  const host = '127.0.0.1';
  const superQuery = async (sql: string, database = 'postgres') => {
    const c = new pg.Client({ host, port, user: 'postgres', password: superPassword, database });
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  };

  const user = 'gn';
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const database = 'runs';
  try {
    await superQuery(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
    await superQuery(`CREATE DATABASE ${database} OWNER ${user}`);
  } catch (e) {
    onExit();
    process.off('exit', onExit);
    throw e;
  }
  const urlOf = (db: string, withPassword = true) => `postgres://${user}${withPassword ? `:${password}` : ''}@${host}:${port}/${db}`;

  return {
    host, port, user, password, database,
    url: urlOf(database),
    urlWithoutPassword: urlOf(database, false),
    async createDatabase(name) {
      await superQuery(`CREATE DATABASE ${name} OWNER ${user}`);
      return urlOf(name);
    },
    superQuery: (sql, db = database) => superQuery(sql, db),
    restart(seconds) {
      restarting = (async () => {
        await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
        await sleep(seconds * 1000);
        await start();
      })();
      return restarting;
    },
    async stop() {
      if (stopped) return;
      await restarting.catch(() => {});
      try {
        await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // not running (a failed restart): nothing to stop
      } finally {
        stopped = true;
        process.off('exit', onExit);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A store on a new database of the cluster, for the stores' contract tests: `reopen` opens it again (another pool), `close` closes every one opened. */
export async function freshPostgresStore(cluster: PgCluster, name: string): Promise<{ url: string; store: PostgresStore; reopen(): Promise<PostgresStore>; close(): Promise<void> }> {
  const url = await cluster.createDatabase(name);
  const stores = [await PostgresStore.open(url)];
  return {
    url,
    store: stores[0]!,
    reopen: async () => {
      const s = await PostgresStore.open(url);
      stores.push(s);
      return s;
    },
    close: async () => {
      for (const s of stores) await s.close().catch(() => {});
    },
  };
}
