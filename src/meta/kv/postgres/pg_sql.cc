#include "meta/kv/postgres/pg_sql.h"

namespace strata::kv {

namespace {

std::string TextLit(std::string_view s) { return "'" + std::string(s) + "'"; }

// Adds inc.deltas to the 8-byte big-endian signed fields of k's value on the server (an
// absent value or one of another length counts as zeros); erase_at_zero deletes an all-zero
// result. The key is not read by the client, so concurrent increments never conflict.
void AddIncrement(const std::string& k, const WriteBuffer::Increment& inc,
                  std::vector<std::string>* out) {
  const size_t n = inc.deltas.size();
  std::string fresh, sum;
  for (size_t f = 0; f < n; f++) {
    const std::string d = std::to_string(inc.deltas[f]) + "::bigint";
    fresh += (f ? " || " : "") + ("int8send(" + d + ")");
    sum += (f ? " || " : "") +
           ("int8send((('x' || encode(substring(kv.v from " + std::to_string(8 * f + 1) +
            " for 8), 'hex'))::bit(64)::bigint + " + d + "))");
  }
  out->push_back("INSERT INTO kv (k, v) VALUES (" + SqlBytes(k) + ", " + fresh +
                 ") ON CONFLICT (k) DO UPDATE SET v = CASE WHEN length(kv.v) = " +
                 std::to_string(8 * n) + " THEN " + sum + " ELSE EXCLUDED.v END");
  if (inc.erase_at_zero) {
    out->push_back("DELETE FROM kv WHERE k = " + SqlBytes(k) +
                   " AND v = " + SqlBytes(std::string(8 * n, '\0')));
  }
}

}  // namespace

const char kSqlCommitLock[] = "SELECT pg_advisory_xact_lock(6076154311116935254)";

std::string SqlHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string SqlBytes(std::string_view bytes) { return "'\\x" + SqlHex(bytes) + "'::bytea"; }

std::string SqlReadSetChanged(const std::map<std::string, std::string, std::less<>>& seen,
                              const std::vector<PgPage>& pages) {
  std::string c;
  auto add = [&c](const std::string& cond) { c += (c.empty() ? "(" : " OR (") + cond + ")"; };
  for (const auto& [k, version] : seen) {
    std::string q = "SELECT xmin::text FROM kv WHERE k = " + SqlBytes(k);
    add("(" + q + ") IS DISTINCT FROM " + (version.empty() ? "NULL" : TextLit(version)));
  }
  for (const auto& p : pages) {
    std::string q =
        "SELECT coalesce(string_agg(encode(k, 'hex') || ':' || xmin::text, ',' ORDER BY k), '') "
        "FROM (SELECT k, xmin FROM kv WHERE k >= " +
        SqlBytes(p.begin);
    if (!p.end.empty()) q += " AND k < " + SqlBytes(p.end);
    q += " ORDER BY k LIMIT " + std::to_string(p.limit) + ") AS page";
    add("(" + q + ") <> " + TextLit(p.seen));
  }
  return c.empty() ? "false" : c;
}

std::vector<std::string> SqlWrites(const WriteBuffer& writes) {
  std::vector<std::string> work;
  std::string puts, dels;
  for (const auto& [k, v] : writes.entries()) {
    if (v) {
      puts += (puts.empty() ? "" : ", ") + ("(" + SqlBytes(k) + ", " + SqlBytes(*v) + ")");
    } else {
      dels += (dels.empty() ? "" : ", ") + SqlBytes(k);
    }
  }
  if (!puts.empty()) {
    work.push_back("INSERT INTO kv (k, v) VALUES " + puts +
                   " ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v");
  }
  if (!dels.empty()) work.push_back("DELETE FROM kv WHERE k IN (" + dels + ")");
  for (const auto& [k, inc] : writes.increments()) AddIncrement(k, inc, &work);
  return work;
}

std::vector<std::string> SqlCommitGroup(std::string_view create_table,
                                        const std::map<std::string, std::string, std::less<>>& seen,
                                        const std::vector<PgPage>& pages,
                                        const WriteBuffer& writes) {
  std::vector<std::string> work;
  // The lock first: two first writers creating the table at once would collide in the catalog
  // (IF NOT EXISTS does not cover a concurrent creation); after it, the second sees the table.
  work.push_back(kSqlCommitLock);
  if (!create_table.empty()) work.emplace_back(create_table);
  if (!seen.empty() || !pages.empty()) {
    work.push_back("DO $strata$ BEGIN IF " + SqlReadSetChanged(seen, pages) +
                   " THEN RAISE EXCEPTION 'strata: read set changed' USING ERRCODE = '40001'; "
                   "END IF; END $strata$");
  }
  for (auto& sql : SqlWrites(writes)) work.push_back(std::move(sql));
  work.push_back("COMMIT");
  return work;
}

}  // namespace strata::kv
