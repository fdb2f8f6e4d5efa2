import type { FastifyInstance } from 'fastify';
import { exceedsJsonDepth } from '@agora/sdk';

/**
 * The deepest JSON body the gateway and the provider accept: 64 levels of objects and arrays, the
 * body itself counting 1. Real inputs nest a handful of levels (chat messages 4, an image 2);
 * hashing and re-serialising recurse, so depth is refused before anything else looks at the body.
 */
export const MAX_JSON_DEPTH = 64;

/** One route an app serves: its method and the URL template fastify matches it by. */
export type HttpRoute = { method: string; url: string };

const routesOf = new WeakMap<FastifyInstance, HttpRoute[]>();

/**
 * Records every route `app` registers from now on (fastify's automatic HEAD routes included), so
 * that the routes a running server answers can be listed ({@link listRoutes}) and checked route by
 * route. Call it before the first route.
 */
export function collectRoutes(app: FastifyInstance): void {
  const routes: HttpRoute[] = [];
  routesOf.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
}

/** The routes `app` has registered since {@link collectRoutes} (complete once the app is ready). */
export function listRoutes(app: FastifyInstance): readonly HttpRoute[] {
  return routesOf.get(app) ?? [];
}

/**
 * Refuses a JSON body nested deeper than `maxDepth` with `tooDeep()` (the app's own 400 error),
 * before schema validation and handlers: nothing downstream (hashing, logging, forwarding) then
 * meets a value that could overflow the stack.
 */
export function refuseDeepJson(app: FastifyInstance, { maxDepth = MAX_JSON_DEPTH, tooDeep }: { maxDepth?: number; tooDeep: (maxDepth: number) => Error }): void {
  app.addHook('preValidation', async (request) => {
    if (exceedsJsonDepth(request.body, maxDepth)) throw tooDeep(maxDepth);
  });
}
