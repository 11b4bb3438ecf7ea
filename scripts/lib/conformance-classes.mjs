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

const STORE_RACE =
  'georoute stores a response after answering (waitUntil): when the next request arrives before that store completes it is not served from cache, so a test expecting no reuse can pass by luck, or one expecting revalidation miss it'

/**
 * Tests seen to change outcome between identical runs here (a loaded 2-core machine), and why.
 * A flip of one of these alone is not a regression; a fix makes them pass every run.
 * @type {Record<string, string>}
 */
export const UNSTABLE = {
  'freshness-expires-invalid-multiple-spaces': STORE_RACE,
  'freshness-expires-invalid-1-digit-hour': STORE_RACE,
  'ccreq-min-fresh-age': STORE_RACE,
  'ccreq-no-cache-etag': STORE_RACE,
}

const REVALIDATION_304 =
  "a 304 that repeats no ETag/Last-Modified does not refresh the stored copy (http-cache-semantics `revalidatedPolicy` says `matches: false`, worker/cache/index.ts `revalidate`), so georoute sends the request again without validators; the suite's server answers that with status 999 and georoute turns it into its own 503"

/**
 * The diagnosis of each group of open failures (by id prefix), as of the commit that last
 * changed this map: what the next engineer should look at.
 * @type {Record<string, string>}
 */
export const DIAGNOSES = {
  'heuristic-*':
    "heuristic-delta-5, -10, -30 (checks): 10 % of so young a Last-Modified is within the suite's pause (georoute gives heuristic freshness only when it comes to at least 1 s)",
  'cdn-*':
    "cdn-date-update-exceed (check): the response is now cached by its CDN-Cache-Control, so a hit's Date shows (see other-*: a hit's Date)",
  'conditional-*': `${REVALIDATION_304} (conditional-etag-*-generate*, conditional-etag-vary-headers, conditional-lm-stale); the reader's own If-None-Match is not forwarded on a miss (conditional-etag-forward*); no edge 304 for unusual ETag syntax in If-None-Match (checks)`,
  'freshness-*':
    "checks only: two max-ages in one response keep the last (http-cache-semantics' choice; the first, which RFC 9111 §4.2.1 also allows, would fail the reverse-order checks that pass now), max-age=a3600, and the apparent age from Date (RFC 9111 §4.2.3, freshness-max-age-date)",
  'ccreq-*':
    "the reader's request Cache-Control (max-age, min-fresh, max-stale, no-cache, no-store, only-if-cached) is ignored: checks only",
  'cc-*':
    'no-cache / must-revalidate revalidation: a 304 without validators is not used (see conditional-*)',
  'partial-*':
    'a Range request is not answered from a stored complete response (partial-store-complete-*), so the partial-use-* tests fail their setup',
  'other-*':
    "a hit's Date is the time of the hit: readerHeaders() (worker/cache/policy.ts) returns http-cache-semantics `responseHeaders()`, which sets Date to now (DESIGN.md: the cache never rewrites the stored Date); no Age on a response that took long to arrive (check)",
  '304-*':
    'a 304 without validators is not used (see conditional-*: 304-etag-update-response-ETag, -Set-Cookie); Content-Encoding and Content-Range are not updated from a 304 (the library excludes them; checks)',
  'head-*':
    "a HEAD miss goes to the origin as GET (checks), and a HEAD answer's headers do not update the stored GET",
  'vary-*':
    'vary-invalidate: one stored variant per URL (a second variant replaces the first; keeping both needs a key per variant, worker/cache/key.ts); vary-normalise-lang-select: a stored variant is not chosen by its Content-Language against the q-values of Accept-Language',
  'stale-*': 'no Warning header on stale answers (checks; Warning is obsolete since RFC 9111 §5.5)',
}
