// ESM entry of ringhttp: the CommonJS module's exports, as named exports and the default.
// One implementation only: `import` and `require` hand out the same classes.
import ringhttp from './index.js';

export const {
  createServer,
  Server,
  IncomingMessage,
  ServerResponse,
  STATUS_CODES,
  METHODS,
  maxHeaderSize,
  validateHeaderName,
  validateHeaderValue,
} = ringhttp;
export default ringhttp;
