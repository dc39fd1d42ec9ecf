// The SQL text of the PostgreSQL engine's optimistic commit (docs/format/postgres-layout.md,
// "Transactions"): the check of a transaction's read set and the statements of its commit
// group. Keys and values go in as hex bytea literals, so nothing a caller stores can end a
// literal or a statement. Internal to this directory; pure functions, thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "meta/kv/write_buffer.h"

namespace strata::kv {

// One scanned page of a transaction's read set: the query's bounds and what it returned.
struct PgPage {
  std::string begin, end;  // end "" = unbounded
  size_t limit = 0;
  std::string seen;  // "hexkey:xmin,..." of the rows, in key order
};

// 'bytes' as a bytea literal: '\x<hex>'::bytea.
std::string SqlBytes(std::string_view bytes);
// Lower-case hex of bytes (what encode(k, 'hex') gives).
std::string SqlHex(std::string_view bytes);

// A condition that is true when any read changed since it was made: a key's xmin is not the
// one seen ("" = it was absent), or a page's rows (keys and xmins) are not those seen.
std::string SqlReadSetChanged(const std::map<std::string, std::string, std::less<>>& seen,
                              const std::vector<PgPage>& pages);

// The advisory lock every commit takes (one commit at a time per database).
extern const char kSqlCommitLock[];

// The writes of a transaction as statements: one INSERT .. ON CONFLICT for the puts, one DELETE,
// and per increment its INSERT .. ON CONFLICT (and the DELETE of an all-zero result).
std::vector<std::string> SqlWrites(const WriteBuffer& writes);

// The second group of the commit pipeline: `create_table` (when not empty), the advisory
// lock, the check of the read set (raising 40001), the writes and increments, COMMIT.
std::vector<std::string> SqlCommitGroup(std::string_view create_table,
                                        const std::map<std::string, std::string, std::less<>>& seen,
                                        const std::vector<PgPage>& pages,
                                        const WriteBuffer& writes);

}  // namespace strata::kv
