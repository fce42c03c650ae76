// Types for ringhttp's Node binding: the server side of @types/node's `http` module.
/// <reference types="node" />
import type { EventEmitter } from 'events';
import type { Duplex, Readable, Writable } from 'stream';
import type { Socket } from 'net';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, OutgoingHttpHeader } from 'http';

export interface ServerOptions {
  IncomingMessage?: typeof IncomingMessage;
  ServerResponse?: typeof ServerResponse;
  keepAliveTimeout?: number;
  headersTimeout?: number;
  requestTimeout?: number;
  maxHeaderSize?: number;
  joinDuplicateHeaders?: boolean;
  /** 'auto' (default), 'uring' or 'epoll'; env RINGHTTP_BACKEND overrides. */
  backend?: 'auto' | 'uring' | 'io_uring' | 'epoll';
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface ListenOptions { port?: number; host?: string; path?: string; backlog?: number; }

export declare class IncomingMessage extends Readable {
  aborted: boolean;
  httpVersion: string;
  httpVersionMajor: number;
  httpVersionMinor: number;
  complete: boolean;
  /** Lazily built on first access. */
  headers: IncomingHttpHeaders;
  headersDistinct: NodeJS.Dict<string[]>;
  rawHeaders: string[];
  trailers: NodeJS.Dict<string>;
  rawTrailers: string[];
  method?: string;
  url?: string;
  statusCode?: number;
  statusMessage?: string;
  socket: Socket;
  connection: Socket;
  setTimeout(msecs: number, callback?: () => void): this;
}

export declare class ServerResponse<Request extends IncomingMessage = IncomingMessage> extends Writable {
  req: Request;
  statusCode: number;
  statusMessage: string;
  sendDate: boolean;
  readonly headersSent: boolean;
  readonly finished: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  socket: Socket | null;
  connection: Socket | null;
  setHeader(name: string, value: number | string | readonly string[]): this;
  appendHeader(name: string, value: string | readonly string[]): this;
  getHeader(name: string): number | string | string[] | undefined;
  getHeaders(): OutgoingHttpHeaders;
  getHeaderNames(): string[];
  getRawHeaderNames(): string[];
  hasHeader(name: string): boolean;
  removeHeader(name: string): void;
  writeHead(statusCode: number, statusMessage?: string, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean;
  write(chunk: string | Uint8Array, encoding: BufferEncoding, callback?: (error?: Error | null) => void): boolean;
  end(cb?: () => void): this;
  end(chunk: string | Uint8Array, cb?: () => void): this;
  end(chunk: string | Uint8Array, encoding: BufferEncoding, cb?: () => void): this;
  flushHeaders(): void;
  writeContinue(callback?: () => void): void;
  writeProcessing(callback?: () => void): void;
  addTrailers(headers: OutgoingHttpHeaders | ReadonlyArray<[string, string]>): void;
  setTimeout(msecs: number, callback?: () => void): this;
}

export declare class Server extends EventEmitter {
  constructor(requestListener?: RequestListener);
  constructor(options: ServerOptions, requestListener?: RequestListener);
  timeout: number;
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  maxHeadersCount: number | null;
  maxRequestsPerSocket: number | null;
  readonly listening: boolean;
  /** 'io_uring' or 'epoll' once listening. */
  readonly backend: string | null;
  listen(port?: number, hostname?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, hostname?: string, listeningListener?: () => void): this;
  listen(port?: number, listeningListener?: () => void): this;
  listen(path: string, listeningListener?: () => void): this;
  listen(options: ListenOptions, listeningListener?: () => void): this;
  address(): { address: string; family: string; port: number } | string | null;
  close(callback?: (err?: Error) => void): this;
  closeIdleConnections(): void;
  closeAllConnections(): void;
  setTimeout(msecs?: number, callback?: (socket: Socket) => void): this;
  getConnections(cb: (error: Error | null, count: number) => void): this;
  ref(): this;
  unref(): this;
  on(event: 'request' | 'checkContinue' | 'checkExpectation', listener: RequestListener): this;
  on(event: 'connection' | 'timeout', listener: (socket: Socket) => void): this;
  on(event: 'clientError', listener: (err: Error, socket: Socket) => void): this;
  /** The socket is a stream.Duplex shaped like a net.Socket over the raw connection. */
  on(event: 'upgrade' | 'connect', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): this;
  on(event: 'close' | 'listening', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export declare function createServer(requestListener?: RequestListener): Server;
export declare function createServer(options: ServerOptions, requestListener?: RequestListener): Server;
export declare const STATUS_CODES: { [code: number]: string | undefined };
export declare const METHODS: string[];
export declare const maxHeaderSize: number;
export declare function validateHeaderName(name: string): void;
export declare function validateHeaderValue(name: string, value: unknown): void;
