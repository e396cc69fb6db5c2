/**
 * Opening the shared state for a command: connected, and at the schema this cutover knows, or a
 * StateUnavailableError (exit 7) before anything runs. Example: `const conn = await openSharedState(url)`.
 */
import { StateConnection } from './connection.js';
import { requireSchema } from './schema.js';

export async function openSharedState(url: string): Promise<StateConnection> {
  const conn = await StateConnection.open(url);
  try {
    await requireSchema(await conn.client(), url);
  } catch (e) {
    await conn.close();
    throw e;
  }
  return conn;
}
