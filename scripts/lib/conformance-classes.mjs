/**
 * What we know about georoute's cache-tests failures, kept by hand: why a test must keep failing
 * (its class), which tests flip between identical runs, and the diagnosis of each open group.
 * Edit these as the Worker changes; `npm run conformance` renders them into docs/CONFORMANCE.md.
 */

/** @typedef {'platform limit' | 'deliberate deviation' | 'open'} FailureClass */

const SET_COOKIE =
  'responses carrying Set-Cookie are not stored in the shared cache (DESIGN.md; Cloudflare does the same by default)'

const ETAG_SYNTAX =
  'If-None-Match is compared as RFC 9110 §8.8.3 and §13.1.2 define entity-tags: quoted, with a case-sensitive `W/` weakness mark; an unquoted value, `w/`, `W\\` or `W"` is not an entity-tag, so georoute neither guesses a match nor answers 304 for it (the origin decides)'

const MISS_CONDITIONALS =
  "on a miss georoute asks the origin for the full response, without the reader's If-None-Match / If-Modified-Since, so that the shared cache is filled (an origin 304 cannot be stored), then answers the reader's conditional from it with a 304 when it matches; Varnish does the same"

/**
 * Why a test still fails, by test id or id prefix (a key ending in `-` is a prefix; the longest
 * match wins). Anything not listed is `open`: work to do. Only entries we are sure of belong here.
 * @type {Record<string, { class: FailureClass, reason: string }>}
 */
export const FAILURE_CLASSES = {
  'interim-': {
    class: 'platform limit',
    reason:
      "1xx interim responses: a Worker's fetch() hands over the 102/103 in place of the final response (georoute then fails building a Response with it), and a Worker can neither send nor relay one",
  },
  'partial-store-partial-': {
    class: 'platform limit',
    reason:
      'storing a partial (206) response: the Cache API refuses to put() a 206, and the memory tier only holds what the Cache API holds',
  },
  'invalidate-M-SEARCH': {
    class: 'platform limit',
    reason:
      "workerd's HTTP server answers an M-SEARCH request with 501 before the Worker runs (the suite then reports a setup failure)",
  },
  'headers-store-Transfer-Encoding': {
    class: 'platform limit',
    reason:
      'workerd\'s fetch() fails on a response with an unknown Transfer-Encoding ("unknown transfer encoding"): the Worker never sees it',
  },
  'headers-store-Set-Cookie': { class: 'deliberate deviation', reason: SET_COOKIE },
  'other-set-cookie': { class: 'deliberate deviation', reason: SET_COOKIE },
  '304-etag-update-response-Set-Cookie': { class: 'deliberate deviation', reason: SET_COOKIE },
  '304-etag-update-response-ETag': {
    class: 'deliberate deviation',
    reason:
      'a 304 whose strong ETag differs from the stored one does not refresh it: RFC 9111 §4.3.4 says a cache MUST NOT use it to update a stored response (georoute then asks for the full response, which the suite answers with status 999)',
  },
  '304-etag-update-response-Content-Encoding': {
    class: 'deliberate deviation',
    reason:
      'a 304 never changes the stored Content-Encoding (nor Content-Length): the body is stored as the runtime decoded it, and RFC 9111 §3.2 names this very field as one a cache may keep so as not to corrupt the stored response',
  },
  'conditional-etag-forward': { class: 'deliberate deviation', reason: MISS_CONDITIONALS },
  'conditional-etag-forward-unquoted': { class: 'deliberate deviation', reason: MISS_CONDITIONALS },
  'conditional-etag-quoted-respond-unquoted': {
    class: 'deliberate deviation',
    reason: ETAG_SYNTAX,
  },
  'conditional-etag-unquoted-respond-': { class: 'deliberate deviation', reason: ETAG_SYNTAX },
  'conditional-etag-weak-respond-lowercase': { class: 'deliberate deviation', reason: ETAG_SYNTAX },
  'conditional-etag-weak-respond-backslash': { class: 'deliberate deviation', reason: ETAG_SYNTAX },
  'conditional-etag-weak-respond-omit-slash': {
    class: 'deliberate deviation',
    reason: ETAG_SYNTAX,
  },
  'conditional-etag-strong-generate-unquoted': {
    class: 'deliberate deviation',
    reason:
      "a revalidation sends the stored ETag as the origin wrote it (`abcdef`, unquoted): the suite's own server only answers 304 to exactly that value, so no cache can both quote it and be validated (no published cache passes)",
  },
  'conditional-etag-strong-respond-obs-text': {
    class: 'platform limit',
    reason:
      'workerd re-encodes a header value with obs-text: the origin\'s ETag `"abcdefü"` reaches the reader as `"abcdefÃ¼"`, so the ETag the Worker holds is not the one the reader sends back in If-None-Match',
  },
  'conditional-lm-fresh-no-lm': {
    class: 'deliberate deviation',
    reason:
      "RFC 9111 §4.3.2: with no Last-Modified, If-Modified-Since is evaluated against the stored Date; the suite's If-Modified-Since is 3000 s before that Date, so the response was modified since and georoute answers 200 (no published cache answers 304)",
  },
  'head-': {
    class: 'deliberate deviation',
    reason:
      'a HEAD that no fresh entry answers goes to the origin as a GET (conditional when the entry has validators): its answer fills or refreshes the entry for the GETs that follow, and a stale body is never declared fresh again by a HEAD that cannot show it unchanged (RFC 9111 §4.3.5 makes updating from a HEAD a SHOULD)',
  },
  'stale-warning-': {
    class: 'deliberate deviation',
    reason:
      'no Warning header on stale answers: RFC 9111 §5.5 obsoletes Warning, and caches no longer generate it',
  },
  'other-age-delay': {
    class: 'deliberate deviation',
    reason:
      'a response fetched for the request carries no Age, however slow the origin: RFC 9111 §5.1 says an Age implies the response was not generated or validated by the origin for this request',
  },
  'method-POST': {
    class: 'deliberate deviation',
    reason:
      'responses to POST are never cached, even with explicit freshness and Content-Location (DESIGN.md: unsafe methods are never cached)',
  },
}

/**
 * Tests seen to change outcome between identical runs here (a loaded 2-core machine), and why.
 * A flip of one of these alone is not a regression; a fix makes them pass every run.
 * (Empty since request collapsing, worker/cache/collapse.ts: a request that arrives after an
 * answer but before its store waits for that store, so `freshness-expires-invalid-*` and
 * `ccreq-*` no longer depend on which finishes first.)
 * @type {Record<string, string>}
 */
export const UNSTABLE = {}

/**
 * The diagnosis of each group of open failures (by id prefix), as of the commit that last
 * changed this map: what the next engineer should look at.
 * @type {Record<string, string>}
 */
export const DIAGNOSES = {
  'heuristic-*':
    "heuristic-delta-5, -10, -30 (checks): 10 % of so young a Last-Modified is within the suite's pause (georoute gives heuristic freshness only when it comes to at least 1 s)",
  'conditional-*':
    "a stored response is not revalidated with another Vary variant's ETag (conditional-etag-vary-headers-mismatch: RFC 9111 §4.3.1 allows it; georoute keeps one response per URL and fetches another variant whole)",
  'freshness-*':
    "checks only: two max-ages in one response keep the last (http-cache-semantics' choice; the first, which RFC 9111 §4.2.1 also allows, would fail the reverse-order checks that pass now), max-age=a3600, and the apparent age from Date (RFC 9111 §4.2.3, freshness-max-age-date)",
  'ccreq-*':
    "the reader's request Cache-Control (max-age, min-fresh, max-stale, no-cache, no-store, only-if-cached) is ignored: checks only",
  'vary-*':
    'vary-invalidate: one stored variant per URL (a second variant replaces the first; keeping both needs a key per variant, worker/cache/key.ts); vary-normalise-lang-select: a stored variant is not chosen by its Content-Language against the q-values of Accept-Language',
}
