/**
 * The one error class of Blick. Every error carries a code from the catalogue
 * below, the thing that failed, and (in the message) what to do about it.
 */
export const ErrorCodes = {
  CONFIG_INVALID: { status: 2, http: 500, summary: 'configuration is invalid' },
  CONFIG_UNREADABLE: { status: 2, http: 500, summary: 'configuration file cannot be read' },
  EVENT_INVALID: { status: 1, http: 400, summary: 'event is invalid' },
  BATCH_TOO_LARGE: { status: 1, http: 413, summary: 'batch exceeds the size limit' },
  MESSAGE_INVALID: { status: 1, http: 400, summary: 'wire message cannot be decoded' },
  MESSAGE_TOO_LARGE: { status: 1, http: 413, summary: 'wire message exceeds the size limit' },
  UNSUPPORTED_VERSION: { status: 1, http: 400, summary: 'wire protocol version is not supported' },
  AUTH_REQUIRED: { status: 1, http: 401, summary: 'a bearer token is required' },
  AUTH_FORBIDDEN: { status: 1, http: 403, summary: 'the token does not allow this' },
  AUTH_THROTTLED: { status: 1, http: 429, summary: 'too many failed authentications from this address' },
  HOST_REFUSED: { status: 1, http: 421, summary: 'the Host header does not name this server' },
  ORIGIN_REFUSED: { status: 1, http: 403, summary: 'a cross-origin request was refused' },
  NOT_FOUND: { status: 1, http: 404, summary: 'not found' },
  BAD_REQUEST: { status: 1, http: 400, summary: 'bad request' },
  STORE_FAILED: { status: 1, http: 503, summary: 'the store failed' },
  CHECKS_LIMIT: { status: 1, http: 507, summary: 'the server holds as many checks as server.limits.max_checks allows' },
  INSECURE_BIND: { status: 2, http: 500, summary: 'refusing to expose the API without tokens, or the ingest without CURVE' },
  SPOOL_FAILED: { status: 1, http: 500, summary: 'the spool failed' },
  KEY_INVALID: { status: 2, http: 500, summary: 'a CURVE key is invalid' },
  TOO_MANY_STREAMS: { status: 1, http: 429, summary: 'too many live streams are open' },
  COMPONENT_FAILED: { status: 1, http: 503, summary: 'a daemon component failed to start or died while running' },
  KEY_EXISTS: { status: 2, http: 409, summary: 'a key pair exists already' },
  URI_TOO_LONG: { status: 1, http: 414, summary: 'a part of the URL is longer than the server accepts' },
  REQUEST_TIMEOUT: { status: 1, http: 408, summary: 'the request did not arrive in time' },
  HEADERS_TOO_LARGE: { status: 1, http: 431, summary: 'the request headers are too large' },
  USAGE: { status: 1, http: 400, summary: 'the command line is not understood (an unknown flag, a flag without its value)' },
  NOTIFICATION_FAILED: { status: 1, http: 502, summary: 'a receiver did not accept a notification (retried)' },
  NOTIFICATION_REJECTED: { status: 1, http: 502, summary: 'a receiver refused a notification as invalid (not retried)' },
  CLASSIFICATION_TOO_LARGE: { status: 1, http: 413, summary: 'a desired state has more resources or bytes than server.classification allows' },
  CLASSIFICATION_LIMIT: { status: 1, http: 507, summary: 'the server keeps the desired state of as many hosts as server.classification.max_hosts allows' },
  TOO_MANY_WAITS: { status: 1, http: 429, summary: 'too many check-set long-polls are held (server.classification.max_waits)' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class BlickError extends Error {
  readonly code: ErrorCode;
  /** HTTP status when the error reaches the API. */
  readonly status: number;
  /** Process exit status when the error stops a command. */
  readonly exitCode: number;
  override readonly cause?: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message);
    this.name = 'BlickError';
    this.code = code;
    this.status = options.status ?? ErrorCodes[code].http;
    this.exitCode = ErrorCodes[code].status;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

export function isBlickError(e: unknown, code?: ErrorCode): e is BlickError {
  return e instanceof BlickError && (code === undefined || e.code === code);
}
