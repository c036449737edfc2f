/** A small client for the management API in tests: JSON over fetch with HTTP Basic auth. */
import { after, before } from 'node:test';
import { type ChannelModel, connect } from 'amqplib';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
export interface ApiReply {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: unknown;
}

export function apiClient(baseUrl: string, user = 'guest', password = 'guest') {
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiReply> {
    const init: RequestInit = { method, headers: { authorization: auth, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, init);
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      body: text === '' ? undefined : JSON.parse(text),
    };
  };
}

export type ApiCall = ReturnType<typeof apiClient>;

/**
 * A broker with the management API and an amqplib connection for one describe block, started in
 * `before` and stopped in `after`; read its fields inside the tests.
 */
export function apiFixture(): { broker: TestBroker; api: ApiCall; amqp: ChannelModel } {
  const fixture = {} as { broker: TestBroker; api: ApiCall; amqp: ChannelModel };
  before(async () => {
    fixture.broker = await startTestBroker({ httpPort: 0 });
    fixture.api = apiClient(fixture.broker.http!.url);
    fixture.amqp = await connect(fixture.broker.url);
  });
  after(async () => {
    await fixture.amqp.close().catch(() => {});
    await fixture.broker.stop();
  });
  return fixture;
}
