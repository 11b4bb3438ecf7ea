/**
 * Loaded with `node --import` before the cache-tests suite's server: it calls
 * `server.listen(port)`, which binds every interface; `npm run conformance` keeps everything it
 * starts on 127.0.0.1, so a listen given only a port gets that host.
 */
import { Server } from 'node:net'

const listen = Server.prototype.listen

/** @param {...any} args */
Server.prototype.listen = function (...args) {
  const [port, host] = args
  const portOnly =
    (typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port))) &&
    typeof host !== 'string'
  if (portOnly) args.splice(0, 1, Number(port), '127.0.0.1')
  return listen.apply(this, /** @type {any} */ (args))
}
