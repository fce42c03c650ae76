// Types of ringhttp's Node binding. ringhttp is a drop-in for the server side of Node's
// `http`, so its classes are @types/node's `http` classes (a handler written for
// `http.createServer`, an Express or Koa app included, type-checks unchanged) plus what
// ringhttp adds: the `backend` option and property, and Node 24.6's keepAliveTimeoutBuffer.
// What behaves differently from Node at run time is listed in README.md.
/// <reference types="node" />
import type * as http from 'http';
import type * as net from 'net';

type Req = typeof http.IncomingMessage;
type Res<R extends Req> = typeof http.ServerResponse<InstanceType<R>>;

/** The engine's I/O backend: 'auto' (default) picks io_uring where the kernel allows it. */
export type BackendOption = 'auto' | 'uring' | 'io_uring' | 'epoll';

/**
 * `http.ServerOptions` plus `backend`. Honoured: IncomingMessage, ServerResponse,
 * keepAliveTimeout, headersTimeout, requestTimeout, maxHeaderSize, joinDuplicateHeaders.
 */
export interface ServerOptions<
  Request extends Req = typeof IncomingMessage,
  Response extends Res<Request> = typeof ServerResponse,
> extends http.ServerOptions<Request, Response> {
  /** Which I/O backend the engine uses; the env var RINGHTTP_BACKEND overrides it. */
  backend?: BackendOption | undefined;
  /** Node 24.6's option: an idle connection closes this long (ms, default 1000) after keepAliveTimeout. */
  keepAliveTimeoutBuffer?: number | undefined;
}

/** The `net.ListenOptions` listen() honours, plus Node 22's `reusePort` (SO_REUSEPORT, off by default). */
export interface ListenOptions extends Pick<net.ListenOptions, 'port' | 'host' | 'path' | 'backlog'> {
  reusePort?: boolean | undefined;
}

export type RequestListener<
  Request extends Req = typeof IncomingMessage,
  Response extends Res<Request> = typeof ServerResponse,
> = http.RequestListener<Request, Response>;

/** A request as Node's `http.IncomingMessage` (a `stream.Readable`; headers built lazily). */
export declare class IncomingMessage extends http.IncomingMessage {}

/** A response as Node's `http.ServerResponse`, written through the engine. */
export declare class ServerResponse<Request extends http.IncomingMessage = IncomingMessage> extends http.ServerResponse<Request> {}

/** Node's `http.Server`, served by one ringhttp shard on this thread's event loop. */
export declare class Server<
  Request extends Req = typeof IncomingMessage,
  Response extends Res<Request> = typeof ServerResponse,
> extends http.Server<Request, Response> {
  constructor(requestListener?: RequestListener<Request, Response>);
  constructor(options: ServerOptions<Request, Response>, requestListener?: RequestListener<Request, Response>);
  // What listen() takes: a port, a unix socket path or ListenOptions (no handle or fd).
  listen(options: ListenOptions, listeningListener?: () => void): this;
  listen(port?: number, hostname?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, hostname?: string, listeningListener?: () => void): this;
  listen(port?: number, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, listeningListener?: () => void): this;
  listen(path: string, backlog?: number, listeningListener?: () => void): this;
  listen(path: string, listeningListener?: () => void): this;
  /** Node 24.6's: an idle connection closes this long (ms, default 1000) after keepAliveTimeout. */
  keepAliveTimeoutBuffer: number;
  /** The backend serving this server once it listens ('io_uring' or 'epoll'), else null. */
  readonly backend: 'io_uring' | 'epoll' | null;
  /** The engine's counters (since listen; still readable after close), or null before listen. */
  stats(): ServerStats | null;
}

/** What `server.stats()` returns. */
export interface ServerStats {
  backend: 'io_uring' | 'epoll';
  openConnections: number;
  accepted: number;
  requests: number;
  responses: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  clientErrors: {
    badRequest: number; tooLarge: number; uriTooLong: number;
    headersTooLarge: number; notImplemented: number; version: number;
  };
  timeouts: { headers: number; request: number; keepAlive: number; inactivity: number; linger: number };
  bytesIn: number;
  bytesOut: number;
}

export declare function createServer<
  Request extends Req = typeof IncomingMessage,
  Response extends Res<Request> = typeof ServerResponse,
>(requestListener?: RequestListener<Request, Response>): Server<Request, Response>;
export declare function createServer<
  Request extends Req = typeof IncomingMessage,
  Response extends Res<Request> = typeof ServerResponse,
>(options: ServerOptions<Request, Response>, requestListener?: RequestListener<Request, Response>): Server<Request, Response>;

export declare const STATUS_CODES: typeof http.STATUS_CODES;
export declare const METHODS: typeof http.METHODS;
export declare const maxHeaderSize: typeof http.maxHeaderSize;
export declare const validateHeaderName: typeof http.validateHeaderName;
export declare const validateHeaderValue: typeof http.validateHeaderValue;
