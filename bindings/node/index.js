'use strict';
// ringhttp: a drop-in for Node's http.createServer on the ringhttp engine.
const http = require('http');
const { Server, createServer } = require('./lib/server');
const { IncomingMessage } = require('./lib/incoming');
const { ServerResponse, validateHeaderName, validateHeaderValue } = require('./lib/response');

module.exports = {
  createServer,
  Server,
  IncomingMessage,
  ServerResponse,
  STATUS_CODES: http.STATUS_CODES,
  METHODS: http.METHODS,
  maxHeaderSize: http.maxHeaderSize,
  validateHeaderName,
  validateHeaderValue,
};
