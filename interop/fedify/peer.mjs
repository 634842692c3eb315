// A Fedify peer for coopfed's interoperability tests.
//
// Usage: node peer.mjs [PORT]   (or PORT in the environment; 0 picks a free
// port). The peer listens on 127.0.0.1 only and prints "READY <port>" on
// stdout once it accepts requests; everything else goes to stderr.
//
// It hosts one actor, the Person "peer" at /users/peer, whose RSA and
// Ed25519 key pairs are generated at start and kept in memory, on a Fedify
// Federation with an in-memory key-value store and message queue. Its inbox
// listeners auto-accept Follows and record what arrives. Fedify only calls
// listeners for activities whose signatures it verified; activities it could
// not verify are recorded too, through onUnverifiedActivity, and answered
// with Fedify's usual 401. For a Create or Update the record also says what
// Fedify's vocabulary parsed of the object (type, id, content, a Question's
// options, endTime and voters) and the FEP-0837 properties of a listing,
// read from the body as delivered since Fedify's vocabulary has no terms
// for them.
//
// The Go tests drive it through a small JSON API on the same server:
//
//   POST /control/lookup    {url, signed}   look an object up with Fedify
//   POST /control/webfinger {resource}      WebFinger lookup by Fedify
//   POST /control/follow    {actor}         send a Follow to an actor URL
//   POST /control/unfollow  {actor}         send an Undo of that Follow
//   POST /control/note      {content, to?}  publish a Create(Note)
//   POST /control/vote      {question, option}  vote on a Question as
//                                           Mastodon does: Create(Note{name,
//                                           inReplyTo}) to its author
//   GET  /control/inbox                     activities received so far
//   GET  /control/following | /control/followers
//   GET  /control/requests                  outgoing HTTP requests
//   GET  /control/errors                    inbox and delivery errors
//   GET  /control/refused                   non-loopback attempts (none!)
//   GET  /control/actor                     {id} of the peer's actor
//
// Fedify resolves acct: handles over https only, so the tests give it actor
// URLs. allowPrivateAddress lets its document loaders reach 127.0.0.1; the
// loopback guard imported first makes sure nothing else is ever reached.

import { refused, requests } from "./loopback.mjs";

import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import { randomUUID } from "node:crypto";

import {
  createExponentialBackoffPolicy,
  createFederation,
  exportJwk,
  exportSpki,
  generateCryptoKeyPair,
  getDocumentLoader,
  InProcessMessageQueue,
  MemoryKvStore,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Create,
  Endpoints,
  Follow,
  getTypeId,
  isActor,
  Mention,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Question,
  Reject,
  Undo,
  Update,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { configure, defaultTextFormatter } from "@logtape/logtape";

const IDENTIFIER = "peer";

// Fedify logs through LogTape; send them to stderr so stdout stays
// reserved for the READY line. PEER_LOG_LEVEL=debug shows every request.
await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { stderr: (record) => process.stderr.write(defaultTextFormatter(record)) },
  loggers: [
    { category: "fedify", sinks: ["stderr"], lowestLevel: process.env.PEER_LOG_LEVEL ?? "info" },
    { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
  ],
});

/** Key pairs of the peer actor: RSA for HTTP signatures, Ed25519 for proofs. */
const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];

/** Activities that reached the inbox, oldest first. */
const inbox = [];
/** Errors from inbox listeners and outgoing deliveries. */
const errors = [];
/** Followers of the peer by actor IRI: {id, inbox, sharedInbox, follow}. */
const followers = new Map();
/** Actors the peer follows by actor IRI: {actor, follow (Follow), state}. */
const following = new Map();
/** Notes the peer published by IRI. */
const notes = new Map();
/** Create activities the peer published, newest first (its outbox). */
const outbox = [];
/**
 * Bodies POSTed to the peer's inboxes by activity id, as they came over the
 * wire, so the tests can see extension properties (FEP-0837's) that
 * Fedify's vocabulary does not model.
 */
const delivered = new Map();

const requestedPort = Number(process.argv[2] ?? process.env.PORT ?? 0);
const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    process.stderr.write(`peer: ${req.method} ${req.url}: ${error?.stack ?? error}\n`);
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error));
  });
});
await new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(requestedPort, "127.0.0.1", resolve);
});
const port = server.address().port;
const origin = `http://127.0.0.1:${port}`;

const federation = createFederation({
  kv: new MemoryKvStore(),
  queue: new InProcessMessageQueue(),
  origin,
  // The peer and coopfed both live on 127.0.0.1: without this, Fedify's
  // SSRF guard refuses to fetch loopback URLs. Tests only.
  allowPrivateAddress: true,
  // Fedify's default retries back off for hours; a test wants a few quick
  // ones, each failure also listed in /control/errors.
  outboxRetryPolicy: createExponentialBackoffPolicy({
    initialDelay: { milliseconds: 500 },
    maxDelay: { seconds: 2 },
    maxAttempts: 5,
  }),
  inboxRetryPolicy: createExponentialBackoffPolicy({
    initialDelay: { milliseconds: 500 },
    maxDelay: { seconds: 2 },
    maxAttempts: 5,
  }),
  onOutboxError: (error, activity) => {
    errors.push({ where: "outbox", activity: activity?.id?.href ?? null, error: String(error) });
  },
});

const actorUri = () => federation.createContext(new URL(origin)).getActorUri(IDENTIFIER);

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify peer",
      summary: "A Fedify 2.3.6 actor that coopfed's interoperability tests drive.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      following: ctx.getFollowingUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: false,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .mapHandle((_ctx, username) => (username === IDENTIFIER ? IDENTIFIER : null))
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === IDENTIFIER ? keyPairs : []));

federation.setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
  if (identifier !== IDENTIFIER) return null;
  return {
    items: [...followers.values()].map((f) => ({
      id: new URL(f.id),
      inboxId: new URL(f.inbox),
      endpoints: f.sharedInbox ? { sharedInbox: new URL(f.sharedInbox) } : null,
    })),
  };
});

federation.setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
  if (identifier !== IDENTIFIER) return null;
  return {
    items: [...following.values()].filter((f) => f.state === "accepted").map((f) => new URL(f.actor)),
  };
});

federation.setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) => {
  if (identifier !== IDENTIFIER) return null;
  return { items: outbox };
});

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (ctx, values) => {
  if (values.identifier !== IDENTIFIER) return null;
  return notes.get(ctx.getObjectUri(Note, values).href) ?? null;
});

/**
 * Records an activity that reached the inbox.
 * @param {import("@fedify/fedify").Context<void> & {recipient?: string|null}} ctx
 * @param {Activity} activity
 * @param {boolean} verified
 * @param {object} [extra]
 */
async function record(ctx, activity, verified, extra = {}) {
  let json = null;
  try {
    json = await activity.toJsonLd({ contextLoader: ctx.contextLoader });
  } catch (error) {
    json = { error: String(error) };
  }
  inbox.push({
    type: typeName(activity),
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: activity.objectId?.href ?? null,
    verified,
    // Listeners get an InboxContext whose recipient is null for the shared
    // inbox; onUnverifiedActivity gets a plain RequestContext.
    inbox: "recipient" in ctx ? (ctx.recipient ?? "shared") : null,
    received: new Date().toISOString(),
    json,
    ...extra,
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    await record(ctx, follow, true);
    if (follow.objectId?.href !== ctx.getActorUri(IDENTIFIER).href || follow.actorId == null) return;
    const follower = await follow.getActor(ctx);
    if (follower == null || follower.inboxId == null) {
      errors.push({ where: "inbox", activity: follow.id?.href ?? null, error: "cannot resolve the follower's inbox" });
      return;
    }
    followers.set(follower.id.href, {
      id: follower.id.href,
      inbox: follower.inboxId.href,
      sharedInbox: follower.endpoints?.sharedInbox?.href ?? null,
      follow: follow.id?.href ?? null,
    });
    await ctx.sendActivity(
      { identifier: IDENTIFIER },
      follower,
      new Accept({
        id: new URL(`/users/${IDENTIFIER}/accepts/${randomUUID()}`, origin),
        actor: ctx.getActorUri(IDENTIFIER),
        object: follow,
      }),
    );
  })
  .on(Accept, async (ctx, accept) => {
    await record(ctx, accept, true);
    settleFollow(accept, "accepted");
  })
  .on(Reject, async (ctx, reject) => {
    await record(ctx, reject, true);
    settleFollow(reject, "rejected");
  })
  .on(Undo, async (ctx, undo) => {
    const object = await undo.getObject(ctx);
    await record(ctx, undo, true, { objectType: object ? typeName(object) : null });
    if (object instanceof Follow && undo.actorId != null) followers.delete(undo.actorId.href);
  })
  .on(Create, async (ctx, create) => {
    const object = await create.getObject(ctx);
    await record(ctx, create, true, await describeObject(ctx, create, object));
  })
  .on(Update, async (ctx, update) => {
    const object = await update.getObject(ctx);
    await record(ctx, update, true, await describeObject(ctx, update, object));
  })
  .on(Activity, async (ctx, activity) => {
    await record(ctx, activity, true);
  })
  .onUnverifiedActivity(async (ctx, activity, reason) => {
    await record(ctx, activity, false, { reason });
  })
  .onError((_ctx, error) => {
    errors.push({ where: "inbox", activity: null, error: String(error?.stack ?? error) });
  });

/**
 * Marks the Follow an Accept or Reject answers. Peers embed the Follow or
 * name it by id; either way objectId is the Follow's id.
 * @param {Accept|Reject} answer
 * @param {string} state
 */
function settleFollow(answer, state) {
  const followId = answer.objectId?.href;
  for (const f of following.values()) {
    if (f.follow.id?.href === followId || (followId == null && f.actor === answer.actorId?.href)) {
      f.state = state;
    }
  }
}

/**
 * Returns the short ActivityStreams type name of a vocabulary object.
 * @param {object} object
 * @returns {string}
 */
function typeName(object) {
  const id = getTypeId(object)?.href ?? "";
  return id.replace(/^.*[#/]/, "");
}

const VF = "https://w3id.org/valueflows/ont/vf#";
const OM2 = "http://www.ontology-of-units-of-measure.org/resource/om-2/";

/**
 * Reads a property of a JSON-LD node in compact form (by term) or in
 * expanded form (by IRI, values in arrays and @value objects).
 * @param {unknown} node
 * @param {string} term
 * @param {string} iri
 */
function prop(node, term, iri) {
  if (node == null || typeof node !== "object") return undefined;
  let v = term in node ? node[term] : node[iri];
  if (Array.isArray(v) && v.length === 1) v = v[0];
  if (v != null && typeof v === "object" && "@value" in v) v = v["@value"];
  return v;
}

/**
 * Extracts the FEP-0837 properties the tests compare from a listing's
 * JSON-LD, compact or expanded; null when it has none.
 * @param {unknown} node
 */
function fep0837(node) {
  const purpose = prop(node, "purpose", VF + "purpose");
  const publishes = prop(node, "publishes", VF + "publishes");
  const quantity = prop(publishes, "resourceQuantity", VF + "resourceQuantity");
  if (purpose === undefined && publishes === undefined) return null;
  return {
    purpose: purpose ?? null,
    resourceQuantity: quantity == null ? null : {
      hasUnit: prop(quantity, "hasUnit", OM2 + "hasUnit") ?? null,
      hasNumericalValue: prop(quantity, "hasNumericalValue", OM2 + "hasNumericalValue") ?? null,
    },
  };
}

/**
 * Describes the object of a Create or Update as Fedify's vocabulary parsed
 * it: its type, id, content and author; for a Question its options,
 * endTime, voters and closed; for a listing (a Note with FEP-0837
 * properties) its purpose and primary quantity, read from the activity as
 * delivered (`listing`) and from Fedify's own JSON-LD of the parsed object
 * (`fedifyListing`, null when Fedify drops the extension terms).
 * @param {import("@fedify/fedify").Context<void>} ctx
 * @param {Activity} activity
 * @param {object|null} object
 */
async function describeObject(ctx, activity, object) {
  const out = {
    objectType: object ? typeName(object) : null,
    objectId: object?.id?.href ?? null,
    content: object?.content?.toString() ?? null,
    name: object?.name?.toString() ?? null,
    attributedTo: object?.attributionId?.href ?? null,
  };
  if (object == null) return out;
  try {
    out.objectJson = await object.toJsonLd({ contextLoader: ctx.contextLoader });
  } catch (error) {
    out.objectJson = { error: String(error) };
  }
  const raw = delivered.get(activity.id?.href ?? "");
  const rawObject = raw != null && typeof raw.object === "object" ? raw.object : null;
  out.listing = fep0837(rawObject);
  out.fedifyListing = fep0837(out.objectJson);
  if (object instanceof Question) {
    const options = async (iterable) => {
      const list = [];
      for await (const option of iterable) {
        const replies = await option.getReplies({ contextLoader: ctx.contextLoader, suppressError: true });
        list.push({ type: typeName(option), name: option.name?.toString() ?? null, votes: replies?.totalItems ?? null });
      }
      return list;
    };
    const opts = { contextLoader: ctx.contextLoader, suppressError: true };
    out.question = {
      oneOf: await options(object.getExclusiveOptions(opts)),
      anyOf: await options(object.getInclusiveOptions(opts)),
      endTime: object.endTime?.toString() ?? null,
      voters: object.voters,
      closed: object.closed == null ? null : String(object.closed),
    };
  }
  return out;
}

/**
 * Describes a looked-up object: the fields the tests compare, plus the
 * compact JSON-LD Fedify would produce from what it parsed.
 * @param {import("@fedify/fedify").Context<void>} ctx
 * @param {object} object
 */
async function describe(ctx, object) {
  const out = { type: typeName(object), id: object.id?.href ?? null, isActor: isActor(object) };
  if (isActor(object)) {
    Object.assign(out, {
      preferredUsername: object.preferredUsername?.toString() ?? null,
      name: object.name?.toString() ?? null,
      inbox: object.inboxId?.href ?? null,
      outbox: object.outboxId?.href ?? null,
      followers: object.followersId?.href ?? null,
      following: object.followingId?.href ?? null,
      sharedInbox: object.endpoints?.sharedInbox?.href ?? null,
      manuallyApprovesFollowers: object.manuallyApprovesFollowers,
      url: object.url?.href ?? object.url?.toString() ?? null,
    });
    const key = await object.getPublicKey(ctx);
    out.publicKey = key == null ? null : {
      id: key.id?.href ?? null,
      owner: key.ownerId?.href ?? null,
      algorithm: key.publicKey?.algorithm?.name ?? null,
      pem: key.publicKey ? await exportSpki(key.publicKey) : null,
      jwk: key.publicKey ? await exportJwk(key.publicKey) : null,
    };
  }
  try {
    out.json = await object.toJsonLd({ contextLoader: ctx.contextLoader });
  } catch (error) {
    out.json = { error: String(error) };
  }
  return out;
}

/**
 * Looks an actor up by URL and fails when it is not one.
 * @param {import("@fedify/fedify").Context<void>} ctx
 * @param {string} url
 */
async function lookupActor(ctx, url) {
  const actor = await ctx.lookupObject(url);
  if (actor == null || !isActor(actor)) throw new HttpError(422, `${url} is not an actor`);
  return actor;
}

/** An error with the status the control API answers. */
class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Handlers of the control API by "METHOD /path". */
const control = {
  "POST /control/lookup": async (ctx, body) => {
    if (typeof body.url !== "string") throw new HttpError(400, "url is required");
    // Unsigned lookups use a fresh, uncached loader so each one really goes
    // over the wire; signed ones use the actor's authenticated loader, which
    // signs RFC 9421 first and retries draft-cavage on 401 (double knock).
    const documentLoader = body.signed
      ? await ctx.getDocumentLoader({ identifier: IDENTIFIER })
      : getDocumentLoader({ allowPrivateAddress: true });
    const object = await ctx.lookupObject(body.url, { documentLoader });
    if (object == null) throw new HttpError(404, `Fedify could not look up ${body.url}`);
    return describe(ctx, object);
  },
  "POST /control/webfinger": async (ctx, body) => {
    const jrd = await ctx.lookupWebFinger(body.resource);
    if (jrd == null) throw new HttpError(404, `no WebFinger answer for ${body.resource}`);
    return jrd;
  },
  "POST /control/follow": async (ctx, body) => {
    const actor = await lookupActor(ctx, body.actor);
    const follow = new Follow({
      id: new URL(`/users/${IDENTIFIER}/follows/${randomUUID()}`, origin),
      actor: ctx.getActorUri(IDENTIFIER),
      object: actor.id,
    });
    following.set(actor.id.href, { actor: actor.id.href, follow, state: "pending" });
    await ctx.sendActivity({ identifier: IDENTIFIER }, actor, follow);
    return { id: follow.id.href };
  },
  "POST /control/unfollow": async (ctx, body) => {
    const entry = following.get(body.actor);
    if (entry == null) throw new HttpError(404, `not following ${body.actor}`);
    const actor = await lookupActor(ctx, body.actor);
    const undo = new Undo({
      id: new URL(`/users/${IDENTIFIER}/undos/${randomUUID()}`, origin),
      actor: ctx.getActorUri(IDENTIFIER),
      object: entry.follow,
    });
    following.delete(body.actor);
    await ctx.sendActivity({ identifier: IDENTIFIER }, actor, undo);
    return { id: undo.id.href };
  },
  "POST /control/note": async (ctx, body) => {
    if (typeof body.content !== "string") throw new HttpError(400, "content is required");
    const to = Array.isArray(body.to) ? body.to : [];
    const recipients = await Promise.all(to.map((url) => lookupActor(ctx, url)));
    const id = ctx.getObjectUri(Note, { identifier: IDENTIFIER, id: randomUUID() });
    const published = Temporal.Now.instant();
    const audience = to.length > 0
      ? { tos: recipients.map((a) => a.id), ccs: [] }
      : { tos: [PUBLIC_COLLECTION], ccs: [ctx.getFollowersUri(IDENTIFIER)] };
    const note = new Note({
      id,
      attribution: ctx.getActorUri(IDENTIFIER),
      content: body.content,
      published,
      url: id,
      ...audience,
      tags: recipients.map((a) => new Mention({ href: a.id, name: a.preferredUsername?.toString() ?? null })),
    });
    notes.set(id.href, note);
    const create = new Create({
      id: new URL(`${id.href}/activity`),
      actor: ctx.getActorUri(IDENTIFIER),
      object: note,
      published,
      ...audience,
    });
    outbox.unshift(create);
    if (recipients.length > 0) {
      await ctx.sendActivity({ identifier: IDENTIFIER }, recipients, create);
    } else {
      await ctx.sendActivity({ identifier: IDENTIFIER }, "followers", create, { preferSharedInbox: true });
    }
    return { id: id.href, create: create.id.href };
  },
  "POST /control/vote": async (ctx, body) => {
    if (typeof body.question !== "string" || typeof body.option !== "string") {
      throw new HttpError(400, "question and option are required");
    }
    const question = await ctx.lookupObject(body.question);
    if (!(question instanceof Question)) throw new HttpError(422, `${body.question} is not a Question`);
    if (question.attributionId == null) throw new HttpError(422, `${body.question} has no attributedTo`);
    const author = await lookupActor(ctx, question.attributionId.href);
    const id = ctx.getObjectUri(Note, { identifier: IDENTIFIER, id: randomUUID() });
    // A vote as Mastodon sends one: a Note with the option's name, no
    // content, in reply to the Question, addressed to its author alone.
    const note = new Note({
      id,
      attribution: ctx.getActorUri(IDENTIFIER),
      name: body.option,
      replyTarget: question.id,
      tos: [author.id],
    });
    notes.set(id.href, note);
    const create = new Create({
      id: new URL(`${id.href}/activity`),
      actor: ctx.getActorUri(IDENTIFIER),
      object: note,
      tos: [author.id],
    });
    await ctx.sendActivity({ identifier: IDENTIFIER }, author, create);
    return { id: id.href, create: create.id.href, to: author.id.href, inbox: author.inboxId?.href ?? null };
  },
  "GET /control/inbox": () => inbox,
  "GET /control/following": () =>
    [...following.values()].map((f) => ({ actor: f.actor, follow: f.follow.id?.href ?? null, state: f.state })),
  "GET /control/followers": () => [...followers.values()],
  "GET /control/requests": () => requests,
  "GET /control/errors": () => errors,
  "GET /control/refused": () => refused,
  "GET /control/actor": () => ({ id: actorUri().href }),
};

/**
 * Serves one HTTP request: the control API, or else Fedify.
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function handle(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const url = new URL(req.url, origin);
  const ctx = federation.createContext(new URL(origin));

  const route = control[`${req.method} ${url.pathname}`];
  if (route != null) {
    let status = 200;
    let payload;
    try {
      payload = await route(ctx, body.length > 0 ? JSON.parse(body.toString("utf8")) : {});
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      payload = { error: String(error?.message ?? error) };
    }
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(payload));
    return;
  }

  if (req.method === "POST" && /^\/(users\/[^/]+\/)?inbox$/.test(url.pathname)) {
    try {
      const json = JSON.parse(body.toString("utf8"));
      if (typeof json?.id === "string") delivered.set(json.id, json);
    } catch {
      // Not JSON: Fedify answers it; nothing to keep.
    }
  }

  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const request = new Request(url, {
    method: req.method,
    headers,
    body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
  });
  const response = await federation.fetch(request, { contextData: undefined });
  const out = {};
  response.headers.forEach((value, key) => {
    out[key] = value;
  });
  res.writeHead(response.status, out);
  res.end(Buffer.from(await response.arrayBuffer()));
}

process.on("SIGTERM", () => server.close(() => process.exit(0)));
process.stdout.write(`READY ${port}\n`);
