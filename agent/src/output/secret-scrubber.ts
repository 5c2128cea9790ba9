import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import type { DestinationStream } from 'pino';

/** A signed JWT (header.payload.signature, base64url JSON header). */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}/g;
const MIN_SECRET_LENGTH = 8;
/** Publicly documented defaults are not secrets, and blanking them would garble `postgres://` URLs. */
const NOT_SECRET = new Set(['postgres']);
const JWK_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

export const REDACTED = '[redacted]';

/**
 * The last line of defence: everything the CLI and the agent write (reports, messages, log lines) goes
 * through `scrub`, which blanks every known secret value and anything shaped like a JWT. Logs are
 * redacted by key already (core/src/logging); this catches secrets that end up inside a message.
 */
export class SecretScrubber {
  private readonly secrets = new Set<string>();
  private ordered: string[] = [];

  add(...values: (string | undefined | null)[]): this {
    for (const value of values) {
      if (!value || value.length < MIN_SECRET_LENGTH || NOT_SECRET.has(value)) continue;
      this.secrets.add(value);
      // Also as it appears percent-encoded in URLs and escaped in JSON.
      this.secrets.add(encodeURIComponent(value));
      this.secrets.add(JSON.stringify(value).slice(1, -1));
    }
    this.ordered = [...this.secrets].sort((a, b) => b.length - a.length);
    return this;
  }

  addBytes(bytes: Uint8Array): this {
    const buffer = Buffer.from(bytes);
    return this.add(
      buffer.toString('base64url'),
      buffer.toString('base64'),
      buffer.toString('hex'),
      buffer.toString('utf8')
    );
  }

  /** A target's admin token, database password, and signing key material. */
  addTarget(target: ProbeTarget): this {
    this.add(target.adminToken, target.writeProbe?.uploadToken);
    for (const url of [
      target.sourceUrl,
      target.syncUrl,
      target.adminUrl,
      target.uploadUrl,
      target.opsDatabaseUrl
    ]) {
      if (!url) continue;
      try {
        const parsed = new URL(url);
        this.add(decodeURIComponent(parsed.password), parsed.searchParams.get('password'));
      } catch {
        // not a URL: nothing to pick out
      }
    }
    if (target.signing.kind === 'hs256') this.addBytes(target.signing.secret);
    else {
      this.add(JSON.stringify(target.signing.jwk));
      for (const member of JWK_PRIVATE_MEMBERS) {
        const value = target.signing.jwk[member];
        if (typeof value === 'string') this.add(value);
      }
    }
    return this;
  }

  scrub(text: string): string {
    let out = text.replace(JWT_PATTERN, '[redacted jwt]');
    for (const secret of this.ordered) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** A pino destination that scrubs each line before writing it to `stream`. */
  destination(stream: { write(text: string): unknown }): DestinationStream {
    return { write: (line: string) => void stream.write(this.scrub(line)) };
  }
}
