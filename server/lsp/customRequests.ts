/**
 * The language server's custom requests for the editor's pictures (race demos, lock order).
 *
 *   kvmLocklint/races      ()                 -> RaceListEntry[]
 *   kvmLocklint/race       { id, variant }    -> RaceResult (+ `ms`), JSON-safe
 *   kvmLocklint/lockGraph  ()                 -> LockGraph (empty graph before the first analysis)
 *
 * The client may not import the model (DESIGN.md: types only), so the race data comes from here.
 * Results are cached: a scenario's exploration is deterministic, and the demo asks for the same
 * variant again every time the user toggles buggy/fixed.
 */
import { ErrorCodes, ResponseError, type Connection } from 'vscode-languageserver';
import { listScenarios, runScenario } from '../../model/races';
import type { LockGraph } from '../engine/lockGraphTypes';

export const RACES_REQUEST = 'kvmLocklint/races';
export const RACE_REQUEST = 'kvmLocklint/race';
export const LOCK_GRAPH_REQUEST = 'kvmLocklint/lockGraph';

export type RaceVariant = 'buggy' | 'fixed';

export interface RaceRequestParams {
  id: string;
  variant?: RaceVariant;
}

export interface CustomRequestDeps {
  /** The workspace's current lock graph, or null before the first analysis. */
  lockGraph: () => LockGraph | null;
}

/** Anything with `onRequest(method, handler)`; a real `Connection` in the server, a fake in tests. */
export type RequestRegistrar = Pick<Connection, 'onRequest'>;

export function registerCustomRequests(connection: RequestRegistrar, deps: CustomRequestDeps): void {
  const races = createRaceService();
  connection.onRequest(RACES_REQUEST, () => races.list());
  connection.onRequest(RACE_REQUEST, (params: unknown) => races.run(params));
  connection.onRequest(LOCK_GRAPH_REQUEST, () => lockGraphOrEmpty(deps));
}

function lockGraphOrEmpty(deps: CustomRequestDeps): LockGraph {
  try {
    return deps.lockGraph() ?? { rulesSource: '', nodes: [], edges: [] };
  } catch (err) {
    throw new ResponseError(ErrorCodes.InternalError, `lock graph failed: ${message(err)}`);
  }
}

export interface RaceService {
  list(): unknown[];
  run(params: unknown): Record<string, unknown>;
}

/** Race requests, validated and cached; exported for tests. */
export function createRaceService(): RaceService {
  const cache = new Map<string, Record<string, unknown>>();
  return {
    list() {
      try {
        return listScenarios().map((s) => toJsonSafe(s) as Record<string, unknown>);
      } catch (err) {
        throw new ResponseError(ErrorCodes.InternalError, `race scenarios failed: ${message(err)}`);
      }
    },
    run(params) {
      const { id, variant } = parseRaceParams(params);
      if (!listScenarios().some((s) => s.id === id)) {
        throw new ResponseError(ErrorCodes.InvalidParams, `unknown race scenario: ${id}`);
      }
      const key = `${id}\0${variant}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const started = performance.now();
      let result: unknown;
      try {
        result = runScenario(id, variant);
      } catch (err) {
        throw new ResponseError(ErrorCodes.InternalError, `race ${id} (${variant}) failed: ${message(err)}`);
      }
      const ms = Math.round((performance.now() - started) * 10) / 10;
      const wire = toJsonSafe(result) as Record<string, unknown>;
      // The model may time itself; when it does not, the server's measurement stands in.
      if (typeof wire.ms !== 'number') wire.ms = ms;
      cache.set(key, wire);
      return wire;
    },
  };
}

function parseRaceParams(params: unknown): { id: string; variant: RaceVariant } {
  const p = (params ?? {}) as Partial<RaceRequestParams>;
  if (typeof p.id !== 'string' || p.id === '') {
    throw new ResponseError(ErrorCodes.InvalidParams, 'kvmLocklint/race needs { id: string, variant?: "buggy" | "fixed" }');
  }
  const variant = p.variant ?? 'buggy';
  if (variant !== 'buggy' && variant !== 'fixed') {
    throw new ResponseError(ErrorCodes.InvalidParams, `variant must be "buggy" or "fixed", not ${JSON.stringify(variant)}`);
  }
  return { id: p.id, variant };
}

/**
 * JSON-RPC cannot carry bigint (a 64-bit SPTE value), Map, Set or cycles: turn them into plain
 * JSON (bigint -> "0x…" string) so one odd field in a model state cannot fail the whole request.
 */
export function toJsonSafe(value: unknown, seen = new WeakSet<object>()): unknown {
  switch (typeof value) {
    case 'bigint':
      return '0x' + value.toString(16);
    case 'function':
    case 'symbol':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'object': {
      if (value === null) return null;
      if (seen.has(value)) return '[circular]';
      seen.add(value);
      let out: unknown;
      if (Array.isArray(value)) out = value.map((v) => toJsonSafe(v, seen) ?? null);
      else if (value instanceof Map) out = Object.fromEntries([...value].map(([k, v]) => [String(k), toJsonSafe(v, seen)]));
      else if (value instanceof Set) out = [...value].map((v) => toJsonSafe(v, seen) ?? null);
      else {
        const obj: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
          const safe = toJsonSafe(v, seen);
          if (safe !== undefined) obj[k] = safe;
        }
        out = obj;
      }
      seen.delete(value);
      return out;
    }
    default:
      return value;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
