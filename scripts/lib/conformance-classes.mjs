/**
 * What we know about georoute's cache-tests failures, kept by hand: why a test must keep failing
 * (its class), which tests flip between identical runs, and the diagnosis of each open group.
 * Edit these as the Worker changes; `npm run conformance` renders them into docs/CONFORMANCE.md.
 */

/** @typedef {'platform limit' | 'deliberate deviation' | 'open'} FailureClass */

const SET_COOKIE =
  'responses carrying Set-Cookie are not stored in the shared cache (DESIGN.md; Cloudflare does the same by default)'

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

const REVALIDATION_304 =
  "a 304 that repeats no ETag/Last-Modified does not refresh the stored copy (http-cache-semantics `revalidatedPolicy` says `matches: false`, worker/cache/index.ts `revalidate`), so georoute sends the request again without validators; the suite's server answers that with status 999 and georoute turns it into its own 503"

const FIVE_XX =
  "a 5xx answer from the only origin is replaced by georoute's own 503 page (worker/proxy/index.ts `raceOrigins` returns `unavailable()` when every attempt answered 5xx; DESIGN.md says the last origin answer goes to the reader as sent)"

/**
 * The diagnosis of each group of open failures (by id prefix), as of the commit that last
 * changed this map: what the next engineer should look at.
 * @type {Record<string, string>}
 */
export const DIAGNOSES = {
  'heuristic-*':
    "no heuristic freshness from Last-Modified: only settings.cache.defaultTtls apply, by path and content type, and the suite's text/plain is not among them (heuristic-*-cached, heuristic-delta-*); the 5xx ones: origin 5xx replaced by georoute's 503 (see status-*)",
  'cdn-*':
    'CDN-Cache-Control (and Cloudflare-CDN-Cache-Control) are ignored: nothing in worker/ reads them, although DESIGN.md says they take precedence',
  'conditional-*': `${REVALIDATION_304} (conditional-etag-*-generate*, conditional-etag-vary-headers, conditional-lm-stale); the reader's own If-None-Match is not forwarded on a miss (conditional-etag-forward*); no edge 304 for unusual ETag syntax in If-None-Match (checks)`,
  'status-*': `${FIVE_XX}; explicit freshness on 299, 400, 499 and on 200 with must-understand is not used (http-cache-semantics only stores statuses it knows)`,
  'freshness-*':
    "malformed Expires dates are taken as valid (the library's Date.parse is lenient; RFC 9111 §5.3: an invalid date means already expired); Cache-Control directive names are matched case-sensitively (MAX-AGE); checks on odd max-age syntax",
  'ccreq-*':
    "the reader's request Cache-Control (max-age, min-fresh, max-stale, no-cache, no-store, only-if-cached) is ignored: checks only",
  'cc-*':
    'NO-CACHE in upper case is ignored (case-sensitive directive names) and the response is reused; no-cache / must-revalidate revalidation: a 304 without validators is not used (see conditional-*)',
  'other-*':
    "a hit's Date is the time of the hit: readerHeaders() (worker/cache/policy.ts) returns http-cache-semantics `responseHeaders()`, which sets Date to now (DESIGN.md: the cache never rewrites the stored Date); no Age on a response that took long to arrive (check); Authorization + must-revalidate not reused",
  '304-*':
    'a 304 without validators is not used (see conditional-*: 304-etag-update-response-ETag, -Set-Cookie); Content-Encoding and Content-Range are not updated from a 304 (the library excludes them; checks)',
  'head-*':
    "a HEAD miss goes to the origin as GET (checks), and a HEAD answer's headers do not update the stored GET",
  'vary-*':
    'no normalisation of Vary-ed request headers (Accept-Language case, order, spaces); vary-invalidate',
  'headers-*':
    'a `no-cache="field"` (qualified) response is treated as unqualified no-cache and not reused (headers-omit-*)',
  'stale-*': 'no Warning header on stale answers (checks; Warning is obsolete since RFC 9111 §5.5)',
  'age-*': 'a fractional Age ("1.5") makes the response not reused (age-parse-float)',
  'pragma-*': 'no heuristic freshness (see heuristic-*)',
}
