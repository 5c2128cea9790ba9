import { describe, expect, it } from 'vitest';
import { normaliseErrorDetail } from './normalise-detail.ts';
import { REDACTED, redactFields } from './redact.ts';

describe('upload error details', () => {
  it('groups details that differ only in ids, values and numbers', () => {
    const a = normaliseErrorDetail(
      'insert or update on table "records" violates foreign key constraint: Key (category_id)=(3f2c1a9e-8b7d-4c6e-9f00-1a2b3c4d5e6f) is not present'
    );
    const b = normaliseErrorDetail(
      'insert or update on table "records" violates foreign key constraint: Key (category_id)=(00000000-0000-4000-8000-000000000001) is not present'
    );
    expect(a).toBe(b);
    expect(a).toContain('(category_id)=(<value>)');
    expect(normaliseErrorDetail('amount 12.5 exceeds 10 for user 42')).toBe(
      'amount <n> exceeds <n> for user <n>'
    );
    expect(normaliseErrorDetail("value 'abc'  too long")).toBe("value '<value>' too long");
    expect(normaliseErrorDetail('workspace of bob@example.com')).toBe('workspace of <email>');
    expect(normaliseErrorDetail('x'.repeat(500))).toHaveLength(300);
    // Different causes stay apart.
    expect(normaliseErrorDetail('title is required')).not.toBe(normaliseErrorDetail('amount is required'));
  });

  it('redacts named fields at any depth, case-insensitively, and keeps the rest', () => {
    const data = { title: 'ok', Password: 'hunter2', nested: { api_key: 'k', list: [{ token: 't', n: 1 }] } };
    expect(redactFields(data, ['password', 'api_key', 'token'])).toEqual({
      title: 'ok',
      Password: REDACTED,
      nested: { api_key: REDACTED, list: [{ token: REDACTED, n: 1 }] }
    });
    expect(data.Password).toBe('hunter2'); // the input is not changed
  });
});
