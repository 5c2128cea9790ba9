import { writeFile } from 'node:fs/promises';
import { SyncScopeError } from '@syncscope/core/errors/index';
import { publicJwkOf } from '@syncscope/core/probe/tokens/probe-public-keys';
import type { Command } from 'commander';
import type { UsersIo } from './users-commands.ts';

const ALGS = ['EdDSA', 'ES256', 'RS256'] as const;
type ProbeKeyAlg = (typeof ALGS)[number];

/**
 * `syncscope probe-key generate`: a new probe signing key. The private JWK goes to a file of its own
 * (mode 0600, never to the terminal); the public half is printed, and the agent serves it at
 * /.well-known/jwks.json for the sync service's `client_auth.jwks_uri`.
 */
export function registerProbeKeyCommand(program: Command, io: Omit<UsersIo, 'readStdin'>): void {
  program
    .command('probe-key')
    .description('Manage probe signing keys.')
    .command('generate')
    .description('Write a new private probe key to a file and print its public half.')
    .requiredOption('--out <file>', 'where the private JWK goes (created with mode 0600; never overwritten)')
    .option(
      '--kid <kid>',
      "the key id probe tokens carry (the targets file's signing_key.kid)",
      'syncscope-probe-1'
    )
    .option('--alg <alg>', `signature algorithm: ${ALGS.join(', ')}`, 'EdDSA')
    .action(
      io.guarded(async (opts: { out: string; kid: string; alg: string }) => {
        if (!(ALGS as readonly string[]).includes(opts.alg)) {
          throw new SyncScopeError(
            'SYNCSCOPE_E_REQUEST_INVALID',
            `--alg ${opts.alg} is not a probe key algorithm; use one of ${ALGS.join(', ')}.`
          );
        }
        const alg = opts.alg as ProbeKeyAlg;
        const { exportJWK, generateKeyPair } = await import('jose');
        const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
        const jwk = { ...(await exportJWK(privateKey)), kid: opts.kid, alg };
        await writeFile(opts.out, `${JSON.stringify(jwk)}\n`, { mode: 0o600, flag: 'wx' }).catch(
          (error: NodeJS.ErrnoException) => {
            throw error.code === 'EEXIST'
              ? new SyncScopeError(
                  'SYNCSCOPE_E_REQUEST_INVALID',
                  `${opts.out} exists; a probe key is never overwritten. Choose another --out, or delete the old key once nothing uses it.`
                )
              : error;
          }
        );
        const publicJwk = publicJwkOf({ kind: 'private-jwk', kid: opts.kid, alg, jwk });
        io.out(`Wrote the private probe key ${opts.kid} (${alg}) to ${opts.out} (mode 0600).\n`);
        io.out(
          `Give it to the agent and the console as the variable the target's private_jwk names, e.g. SYNCSCOPE_PROBE_JWK="$(cat ${opts.out})".\n`
        );
        io.out(
          "The sync service must trust its public half: add the agent's /.well-known/jwks.json to client_auth.jwks_uri, or this key to client_auth.jwks:\n"
        );
        io.out(`${JSON.stringify(publicJwk)}\n`);
        return 0;
      })
    );
}
