import type { Pgoutput } from 'pg-logical-replication';
import { PgoutputPlugin } from 'pg-logical-replication';

const keepText = (value: string) => value;

/**
 * pgoutput, but tuple values stay as Postgres's text: the library would otherwise run node-pg's
 * global type parsers (which turn timestamps into JS Dates and lose microseconds). Decoding by
 * type OID happens in @syncscope/core's pg-values, exactly as the service does it.
 */
export class RawTextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer) as Pgoutput.Message;
    if (message.tag === 'relation') {
      for (const column of message.columns) (column as { parser: (v: string) => unknown }).parser = keepText;
    }
    return message;
  }
}
