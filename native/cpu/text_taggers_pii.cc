// Dolma's pii_regex_v2 matching over UTF-16 text (see native/include/olmo/ops/text_taggers.h): the
// three regexes' finditer, each pattern's backtracking order worked out by hand; the reference is
// packages/data/src/curation/taggers/pii.ts (test: native-taggers.test.ts).
#include "olmo/ops/text_taggers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "text_taggers_scan.h"

namespace olmo::cpu {
using namespace text;

namespace {
// EMAIL: [.\s@,?!;:)(]*([^\s@]+@[^\s@,?!;:)(]+?)[.\s@,?!;:)(]?[\s\n\r]
inline bool is_p(uint16_t u) { return cls(u) & (kPunct | kSpace); }  // [.\s@,?!;:)(]
inline bool is_c(uint16_t u) { return !(cls(u) & kNotC); }           // [^\s@,?!;:)(]
inline bool is_sa(uint16_t u) { return cls(u) & (kAt | kSpace); }

// The part after "@" (at unit a): lazy C+, then [P]? greedy, then \s. Returns the match end or -1.
int64_t email_rest(const uint16_t* s, int64_t n, int64_t a) {
  for (int64_t q = a + 2;; q++) {
    if (q - 1 >= n || !is_c(s[q - 1])) return -1;
    if (q < n && is_p(s[q]) && q + 1 < n && is_space(s[q + 1])) return q + 2;
    if (q < n && is_space(s[q])) return q + 1;
    if (q >= n) return -1;
  }
}

// Backtracking of the email pattern from start p reduces to: the greedy P-run from p ends at r;
// B+ may start at r or (backing off) inside the run; B+ always runs to the next whitespace or "@",
// which must be "@" (at a), then the rest must match from a. Candidates in backtracking order: a
// after r first, then each "@" inside [p, r) preceded by a non-space non-"@" unit, from the right.
void email_matches(const uint16_t* s, int64_t n, std::vector<double>& out) {
  thread_local std::vector<int64_t> pend_tl;
  auto& pend = pend_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> nsa_tl;
  auto& nsa = nsa_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> good_at_tl;
  auto& good_at = good_at_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> memo_tl;
  auto& memo = memo_tl;  // one TLS lookup, not one per use
  pend.resize(size_t(n) + 1);
  nsa.resize(size_t(n) + 1);
  good_at.resize(size_t(n) + 1);
  memo.assign(size_t(n) + 1, -2);
  pend[n] = n;
  nsa[n] = n;
  for (int64_t i = n - 1; i >= 0; i--) {
    pend[i] = is_p(s[i]) ? pend[i + 1] : i;
    nsa[i] = is_sa(s[i]) ? i : nsa[i + 1];
  }
  int64_t last = -1;  // good_at[i]: largest z < i with s[z] == '@' and s[z-1] not space/@
  for (int64_t i = 0; i <= n; i++) {
    good_at[i] = last;
    if (i < n && s[i] == '@' && i >= 1 && !is_sa(s[i - 1])) last = i;
  }
  auto rest = [&](int64_t a) {
    if (memo[a] == -2) memo[a] = email_rest(s, n, a);
    return memo[a];
  };
  for (int64_t p = 0; p < n;) {
    const int64_t r = pend[p];
    int64_t end = -1;
    if (r < n) {
      const int64_t a = nsa[r];
      if (a < n && s[a] == '@') end = rest(a);
    }
    for (int64_t z = good_at[r]; end < 0 && z - 1 >= p; z = good_at[z]) end = rest(z);
    if (end >= 0) {
      out.push_back(0);
      out.push_back(double(p));
      out.push_back(double(end));
      p = end;
    } else {
      p++;
    }
  }
}

// PHONE: [\s]+\(?(\d{3})\)?[-\. ]*(\d{3})[-. ]?(\d{4}) with \d = \p{Nd}. Every quantifier is
// deterministic here (backing off any of them leaves a character the next item cannot match), so
// the match from the first whitespace of a run is the greedy walk, and no later start in the run
// can succeed if it fails.
inline bool digits(const uint16_t* s, int64_t n, int64_t* i, int k) {
  for (int j = 0; j < k; j++) {
    if (*i >= n) return false;
    int l;
    uint32_t c = cp_at(s, n, *i, &l);
    if (!is_digit(c)) return false;
    *i += l;
  }
  return true;
}
inline bool is_sep(uint16_t u) { return cls(u) & kSep; }

void phone_matches(const uint16_t* s, int64_t n, const TextBits& tb, std::vector<double>& out) {
  // candidates: the last whitespace unit of a run whose next unit may start "(" / a digit
  int64_t pos = 0;
  for (size_t w = 0; w < tb.space.size(); w++) {
    const uint64_t sp = tb.space[w];
    const uint64_t next_sp = (sp >> 1) | (w + 1 < tb.space.size() ? tb.space[w + 1] << 63 : uint64_t(1) << 63);
    const uint64_t next_pn = (tb.phone_next[w] >> 1) | (w + 1 < tb.space.size() ? tb.phone_next[w + 1] << 63 : 0);
    for (uint64_t m = sp & ~next_sp & next_pn; m; m &= m - 1) {
      const int64_t last = int64_t(w) * 64 + __builtin_ctzll(m);
      if (last >= n || last < pos) continue;
      int64_t p = last;
      while (p > pos && tb.sp(p - 1)) p--;
      int64_t i = last + 1;
      if (i < n && s[i] == '(') i++;
      bool ok = digits(s, n, &i, 3);
      if (ok) {
        if (i < n && s[i] == ')') i++;
        while (i < n && is_sep(s[i])) i++;
        ok = digits(s, n, &i, 3);
      }
      if (ok) {
        if (i < n && is_sep(s[i])) i++;
        ok = digits(s, n, &i, 4);
      }
      if (ok) {
        out.push_back(1);
        out.push_back(double(p));
        out.push_back(double(i));
        pos = i;
      }
    }
  }
}

// IP: (?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)
inline bool d09(const uint16_t* s, int64_t n, int64_t i) { return i < n && (cls(s[i]) & kAsciiDigit); }
// The ends of the octet alternatives at i, in backtracking order.
int octet_ends(const uint16_t* s, int64_t n, int64_t i, int64_t* e) {
  int k = 0;
  if (i + 2 < n && s[i] == '2' && s[i + 1] == '5' && s[i + 2] >= '0' && s[i + 2] <= '5') e[k++] = i + 3;
  if (i + 2 < n && s[i] == '2' && s[i + 1] >= '0' && s[i + 1] <= '4' && d09(s, n, i + 2)) e[k++] = i + 3;
  if (i < n && (s[i] == '0' || s[i] == '1') && d09(s, n, i + 1)) {
    if (d09(s, n, i + 2)) e[k++] = i + 3;
    e[k++] = i + 2;
  }
  if (d09(s, n, i)) {
    if (d09(s, n, i + 1)) e[k++] = i + 2;
    e[k++] = i + 1;
  }
  return k;
}
int64_t ip_from(const uint16_t* s, int64_t n, int64_t i, int k) {
  int64_t e[6];
  int m = octet_ends(s, n, i, e);
  if (k == 3) return m > 0 ? e[0] : -1;
  for (int j = 0; j < m; j++) {
    if (e[j] < n && s[e[j]] == '.') {
      int64_t r = ip_from(s, n, e[j] + 1, k + 1);
      if (r >= 0) return r;
    }
  }
  return -1;
}
void ip_matches(const uint16_t* s, int64_t n, const TextBits& tb, std::vector<double>& out) {
  for (int64_t p = 0; p < n;) {
    p = next_bit(tb.digit, p, n);
    if (p >= n) break;
    int64_t end = ip_from(s, n, p, 0);
    if (end >= 0) {
      out.push_back(2);
      out.push_back(double(p));
      out.push_back(double(end));
      p = end;
    } else {
      p++;
    }
  }
}
}  // namespace

void pii_matches(const uint16_t* s, int64_t n, std::vector<double>& out, const TextBits* bits) {
  thread_local TextBits tb_tl;
  if (!bits) text_bits(s, n, tb_tl);
  const TextBits& tb = bits ? *bits : tb_tl;
  const size_t head = out.size();
  out.push_back(double(count_words(tb, 0, n)));
  out.push_back(0);
  int64_t pairs = 0;
  if (tb.any_surrogate)
    for (int64_t i = 1; i < n; i++) pairs += is_low(s[i]) && is_high(s[i - 1]);
  out.push_back(double(n - pairs));  // len(text)
  // exact pre-checks: every email match contains "@"; a phone match is a whitespace run followed
  // by "(" or a \p{Nd} digit (ASCII, or some non-ASCII unit); an IP match starts with an ASCII digit
  if (tb.any_at) email_matches(s, n, out);
  if (tb.any_digit || tb.any_non_ascii) phone_matches(s, n, tb, out);
  if (tb.any_digit) ip_matches(s, n, tb, out);
  out[head + 1] = double((out.size() - head - 3) / 3);
}

}  // namespace olmo::cpu
