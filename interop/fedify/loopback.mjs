// Loopback-only network guard for the interoperability tests.
//
// The tests run a Fedify peer and the activitypub-testing suite against
// coopfed instances on 127.0.0.1. Nothing they do may reach any other
// address: a stray JSON-LD context, a WebFinger lookup over https or a
// link in a fetched document must fail here instead of leaving the machine.
// Importing this module (the peer does; the suite is run with
// `node --import ./loopback.mjs`) installs two guards:
//
//  -  globalThis.fetch refuses URLs whose host is not a loopback address,
//     and records every request it lets through (method, URL, which HTTP
//     signature scheme signed it, response status), so a test can see
//     what went over the wire;
//  -  net.Socket#connect refuses TCP connections to any host other than a
//     loopback address, which catches clients that do not use fetch.
//
// Every refusal is recorded and written to stderr as a line starting with
// "REFUSED ", which the Go tests look for.

import net from "node:net";

/** Requests that fetch let through, oldest first. */
export const requests = [];

/** Connections and fetches that were refused, oldest first. */
export const refused = [];

/**
 * Tells whether a host name (as in URL#hostname, so IPv6 in brackets) is a
 * loopback address: 127.0.0.0/8, ::1 or "localhost".
 * @param {string} host
 * @returns {boolean}
 */
export function isLoopback(host) {
  const h = String(host).toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function refuse(what) {
  refused.push(what);
  process.stderr.write(`REFUSED ${what}\n`);
}

/**
 * Names the HTTP signature scheme of a request's headers.
 * @param {Headers} headers
 * @returns {"rfc9421" | "draft-cavage" | "none"}
 */
function signatureScheme(headers) {
  if (headers.has("signature-input")) return "rfc9421";
  if (headers.has("signature")) return "draft-cavage";
  return "none";
}

const realFetch = globalThis.fetch;

globalThis.fetch = async function loopbackFetch(input, init) {
  const request = new Request(input, init);
  const url = new URL(request.url);
  if (!isLoopback(url.hostname)) {
    refuse(`fetch ${request.method} ${request.url}`);
    throw new TypeError(`loopback guard: refused to fetch ${request.url}`);
  }
  const entry = {
    method: request.method,
    url: request.url,
    scheme: signatureScheme(request.headers),
    status: 0,
  };
  requests.push(entry);
  try {
    const response = await realFetch(request);
    entry.status = response.status;
    return response;
  } catch (error) {
    entry.error = String(error);
    throw error;
  }
};

const realConnect = net.Socket.prototype.connect;

net.Socket.prototype.connect = function loopbackConnect(...args) {
  // net.connect passes its normalised arguments as one array; direct callers
  // pass (options[, cb]), (port[, host][, cb]) or (path[, cb]).
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host;
  let path;
  if (first !== null && typeof first === "object") {
    host = first.host;
    path = first.path;
  } else if (typeof first === "string" && !/^\d+$/.test(first)) {
    path = first;
  } else {
    host = typeof args[1] === "string" ? args[1] : undefined;
  }
  if (path == null && host != null && !isLoopback(host)) {
    refuse(`connect ${host}`);
    const error = new Error(`loopback guard: refused to connect to ${host}`);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return realConnect.apply(this, args);
};
